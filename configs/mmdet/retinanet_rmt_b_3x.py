# RetinaNet + FPN, RMT-B, COCO "3x + MS": the 3x recipe of retinanet_rmt_t_3x.py with the
# RMT-B settings of retinanet_rmt_b_1x.py: stochastic depth 0.4, AdamW lr 4e-4 (retinanet_m_1x.py).
_base_ = './retinanet_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-B checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[80, 160, 320, 512]))
