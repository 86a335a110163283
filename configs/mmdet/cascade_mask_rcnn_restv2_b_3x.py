# Cascade Mask R-CNN + FPN with ResTv2-B, COCO "3x + MS" (not in the paper):
# cascade_mask_rcnn_restv2_t_3x.py with the paper's ResTv2-B stochastic depth, 0.3.
_base_ = './cascade_mask_rcnn_restv2_t_3x.py'
pretrained = None
model = dict(backbone=dict(arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
