# Mask R-CNN + FPN with ResTv2-S, the paper's "x3" recipe (appendix C.2), stochastic depth 0.2.
_base_ = './mask_rcnn_restv2_t_3x.py'
pretrained = None
model = dict(backbone=dict(arch='small', drop_path_rate=0.2,
                           init_cfg=dict(checkpoint=pretrained)))
