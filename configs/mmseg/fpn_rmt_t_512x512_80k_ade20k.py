# Semantic FPN + RMT-T on ADE20K, 512x512 crops, 80k iterations (supplement B; official
# segmentation/configs/RMT/RMT_FPN_t_1x.py on its _base_/models/RMT_fpn.py and
# _base_/schedules/schedule_80k.py): FPN neck (256 channels, 4 levels) + FPNHead (128 channels),
# AdamW lr 1e-4, weight decay 1e-4 on every parameter, poly decay (power 0.9) to 1e-6 over
# iterations 0..80k without warm-up, batch 16 (8 GPUs x 2), stochastic depth 0.1, SyncBN, fp32,
# single-scale evaluation and a checkpoint every 4000 iterations. Recipe table: docs/rmt.md (rows
# R-RMTFPN-*).
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
crop_size = (512, 512)
# ImageNet RMT-T checkpoint (the official release loads as it is).
# Required: training refuses to start while it is None. Give it with --cfg-options pretrained=PATH
# (tools/train.py) or model.backbone.init_cfg.checkpoint=PATH (any OpenMMLab tool); to train from
# random weights on purpose, model.backbone.init_cfg.required=False.
pretrained = None
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='RMT',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        # Official: SyncBatchNorm, which its norm_eval=True does not catch (see docs/rmt.md).
        conv_norm_cfg=dict(type='SyncBN'),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=256, num_outs=4),
    decode_head=dict(num_classes=150))

# The official optimizer (AdamW over the base's SGD, no paramwise_cfg) and no fp16: fp32.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
# The release's schedule_80k.py: mmcv poly, power 0.9, min_lr 1e-6, no warm-up, 80k iterations.
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=80000, by_epoch=False),
]
train_dataloader = dict(batch_size=2, num_workers=2)
train_cfg = dict(max_iters=80000, val_interval=4000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
