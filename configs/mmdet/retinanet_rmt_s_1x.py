# RetinaNet + FPN, RMT-S, COCO "1x" (official detect/configs/RMT/retinanet_s_1x.py): the RMT-T 1x
# recipe with stochastic depth 0.15; AdamW lr 4e-4.
_base_ = './retinanet_rmt_t_1x.py'
pretrained = None  # ImageNet RMT-S checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]))
