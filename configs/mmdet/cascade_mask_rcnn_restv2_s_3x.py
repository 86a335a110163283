# Cascade Mask R-CNN + FPN with ResTv2-S, COCO "3x + MS" (not in the paper):
# cascade_mask_rcnn_restv2_t_3x.py with the paper's ResTv2-S stochastic depth, 0.2.
_base_ = './cascade_mask_rcnn_restv2_t_3x.py'
pretrained = None
model = dict(backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
