# Mask R-CNN + FPN, RMT-B, COCO "1x" (official detect/configs/RMT/maskrcnn_m_1x.py, "M2" in the
# code): the RMT-T 1x recipe with stochastic depth 0.4; AdamW lr 4e-4.
_base_ = './mask_rcnn_rmt_t_1x.py'
pretrained = None  # ImageNet RMT-B checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[80, 160, 320, 512]))
