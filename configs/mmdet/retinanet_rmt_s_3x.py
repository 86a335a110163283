# RetinaNet + FPN, RMT-S, COCO "3x + MS": the 3x recipe of retinanet_rmt_t_3x.py with the
# RMT-S settings of retinanet_rmt_s_1x.py: stochastic depth 0.15, AdamW lr 4e-4 (retinanet_s_1x.py).
_base_ = './retinanet_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-S checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]))
