# Cascade Mask R-CNN + FPN, RMT-T, COCO "3x + MS" (supplement B; the official release has
# detect/configs/RMT/casrcnn_{s,m}_3x.py on its _base_/models/RMT_cas_rcnn.py and no T file: this is
# the casrcnn_s_3x.py recipe with RMT-T): three box heads of 4 convs + 1 fc with SyncBN and GIoU
# loss (weight 10), class-specific regression on decoded boxes; 36 epochs, lr x0.1 after epochs 27
# and 33, warm-up 500 iterations from 0.001, AdamW lr 4e-4, weight decay 0.05 (none on norm layers
# and on parameters named *norm*), batch 16 (8 GPUs x 2), fp16 with a dynamic loss scale, and the
# official multi-scale pipeline (flip, then a random short side 480..800 or resize 400/500/600 +
# random 384..600 crop + 480..800). Recipe table: docs/rmt.md (rows R-RMTCAS-*).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

# Path to an ImageNet RMT-T checkpoint (the official release loads as it is).
# Required: training refuses to start while it is None. Give it with --cfg-options pretrained=PATH
# (tools/train.py) or model.backbone.init_cfg.checkpoint=PATH (any OpenMMLab tool); to train from
# random weights on purpose, model.backbone.init_cfg.required=False.
pretrained = None


def _box_head(stds):
    return dict(
        type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1, in_channels=256,
        conv_out_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=80,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                        target_stds=stds),
        reg_class_agnostic=False, reg_decoded_bbox=True,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


model = dict(
    backbone=dict(
        _delete_=True,
        type='RMT',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        # The official backbone hard-codes SyncBatchNorm, which its norm_eval=True does not catch.
        conv_norm_cfg=dict(type='SyncBN'),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]),
    roi_head=dict(bbox_head=[_box_head([0.1, 0.1, 0.2, 0.2]),
                             _box_head([0.05, 0.05, 0.1, 0.1]),
                             _box_head([0.033, 0.033, 0.067, 0.067])]))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize',
                  scales=[(1333, s) for s in range(480, 801, 32)],
                  keep_ratio=True)],
            [dict(type='RandomChoiceResize',
                  scales=[(1333, 400), (1333, 500), (1333, 600)],
                  keep_ratio=True),
             dict(type='RandomCrop',
                  crop_type='absolute_range',
                  crop_size=(384, 600),
                  allow_negative_crop=True),
             dict(type='RandomChoiceResize',
                  scales=[(1333, s) for s in range(480, 801, 32)],
                  keep_ratio=True)],
        ]),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(pipeline=train_pipeline))

# fp16 = dict() over the runtime's fp16 = dict(loss_scale='dynamic'): fp16, dynamic loss scale.
# norm_decay_mult=0 (every norm layer, the heads' SyncBN included) and custom_keys 'norm' (every
# parameter whose name holds "norm") are the official rules; the other official keys
# (absolute_pos_embed, relative_position_bias_table, rpe_table) match no RMT parameter.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(_delete_=True, type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'norm': dict(decay_mult=0.)}))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33],
         gamma=0.1),
]
# Every official detection file: checkpoint_config = dict(max_keep_ckpts=1) over the runtime's
# interval=1, a checkpoint every epoch, only the last kept.
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
# 8 GPUs x 2 images; mmdet's --auto-scale-lr rescales the lr for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
