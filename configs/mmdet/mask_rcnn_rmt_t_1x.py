# Mask R-CNN + FPN with an RMT-T backbone, COCO "1x" (supplement B; official
# detect/configs/RMT/maskrcnn_t_1x.py): single scale 1333x800, 12 epochs with lr x0.1 after epochs
# 8 and 11, linear warm-up 500 iterations, AdamW lr 4e-4 (the official config; the supplement text
# says 1e-4), weight decay 0.05 except parameters named *norm*, batch 16 (8 GPUs x 2), stochastic
# depth 0.1, SyncBN in the backbone (official), fp16. Recipe table: docs/rmt.md.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
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

model = dict(
    backbone=dict(
        _delete_=True,
        type='RMT',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        # The official backbone hard-codes SyncBatchNorm; its norm_eval=True tests isinstance(m,
        # nn.BatchNorm2d), which SyncBatchNorm is not, so its BatchNorms train: norm_eval=False.
        conv_norm_cfg=dict(type='SyncBN'),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]))

train_dataloader = dict(batch_size=2, num_workers=2)
# AMP on GPU (official fp16, dynamic loss scale); tools/train.py falls back to fp32 on the CPU.
# custom_keys 'norm' is the official rule: no weight decay for every parameter whose name holds
# "norm" (the blocks' LayerNorms, the output norms, the patch-merging BatchNorms).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(_delete_=True, type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
# Every official detection file: checkpoint_config = dict(max_keep_ckpts=1) over the runtime's
# interval=1, a checkpoint every epoch, only the last kept.
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
# 8 GPUs x 2 images; mmdet's --auto-scale-lr rescales the lr for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
