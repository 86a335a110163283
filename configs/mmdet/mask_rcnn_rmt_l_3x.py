# Mask R-CNN + FPN, RMT-L, COCO "3x + MS" (official detect/configs/RMT/maskrcnn_l_3x.py): the 3x
# recipe of mask_rcnn_rmt_t_3x.py with stochastic depth 0.5, AdamW lr 2e-4, and 1 image per GPU
# (the official config; 8 GPUs x 1 = batch 8, where the supplement says 16 for every model).
_base_ = './mask_rcnn_rmt_t_3x.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[112, 224, 448, 640]))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
auto_scale_lr = dict(base_batch_size=8)
