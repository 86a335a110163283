# Cascade Mask R-CNN + FPN, RMT-L, COCO "3x + MS" (no official L file: the casrcnn_m_3x.py
# recipe with RMT-L): stochastic depth 0.5 (as every official RMT-L config), AdamW lr 2e-4.
_base_ = './cascade_mask_rcnn_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[112, 224, 448, 640]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
