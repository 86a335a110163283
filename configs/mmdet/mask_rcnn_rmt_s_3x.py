# Mask R-CNN + FPN, RMT-S, COCO "3x + MS" (official detect/configs/RMT/maskrcnn_s_3x.py): the 3x
# recipe of mask_rcnn_rmt_t_3x.py with stochastic depth 0.15; AdamW lr 4e-4.
_base_ = './mask_rcnn_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-S checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]))
