# RetinaNet + FPN, RMT-L, COCO "1x" (official detect/configs/RMT/retinanet_l_1x.py): the RMT-T 1x
# recipe with stochastic depth 0.5 and AdamW lr 2e-4.
_base_ = './retinanet_rmt_t_1x.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[112, 224, 448, 640]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
