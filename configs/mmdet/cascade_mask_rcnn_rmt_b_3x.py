# Cascade Mask R-CNN + FPN, RMT-B, COCO "3x + MS" (official
# detect/configs/RMT/casrcnn_m_3x.py): the recipe of cascade_mask_rcnn_rmt_t_3x.py with
# stochastic depth 0.4 and AdamW lr 2e-4.
_base_ = './cascade_mask_rcnn_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-B checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[80, 160, 320, 512]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
