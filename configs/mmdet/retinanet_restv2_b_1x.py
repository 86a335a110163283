# RetinaNet + FPN with ResTv2-B, COCO "1x" (not in the paper): retinanet_restv2_t_1x.py with the
# paper's ResTv2-B stochastic depth, 0.3.
_base_ = './retinanet_restv2_t_1x.py'
pretrained = None
model = dict(backbone=dict(arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)))
