# RetinaNet + FPN with ResTv2-S, COCO "1x" (not in the paper): retinanet_restv2_t_1x.py with the
# paper's ResTv2-S stochastic depth, 0.2.
_base_ = './retinanet_restv2_t_1x.py'
pretrained = None
model = dict(backbone=dict(arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint=pretrained)))
