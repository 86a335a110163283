# Mask R-CNN + FPN with ResTv2-B, the paper's "x3" recipe (appendix C.2), stochastic depth 0.3.
_base_ = './mask_rcnn_restv2_t_3x.py'
pretrained = None
model = dict(backbone=dict(arch='base', drop_path_rate=0.3,
                           init_cfg=dict(checkpoint=pretrained)))
