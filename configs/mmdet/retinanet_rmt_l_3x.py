# RetinaNet + FPN, RMT-L, COCO "3x + MS": the 3x recipe of retinanet_rmt_t_3x.py with the
# RMT-L settings of retinanet_rmt_l_1x.py: stochastic depth 0.5, AdamW lr 2e-4 (retinanet_l_1x.py).
_base_ = './retinanet_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[112, 224, 448, 640]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
