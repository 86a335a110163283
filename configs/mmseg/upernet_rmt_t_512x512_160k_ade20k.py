# UperNet + RMT-T on ADE20K, 512x512 crops, 160k iterations (supplement B, "follow Swin"; the
# official release has UperNet configs for S/B/L only, segmentation/configs/RMT/RMT_Uper_{s,m,l}_2x.py,
# and this is their recipe with RMT-T): AdamW lr 6e-5, weight decay 0.01 (none on *norm*), poly
# decay (power 1) over iterations 0..160k with a 1500-iteration linear warm-up from 1e-6 multiplied
# in (mmcv's poly with warm-up), batch 16 (8 GPUs x 2),
# stochastic depth 0.1, SyncBN in the backbone (official), fp16 with loss scale 512, single-scale
# evaluation every 8000 iterations. Recipe table: docs/rmt.md.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
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
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
# mmcv 1.x poly with a linear warm-up: the poly curve runs from iteration 0 and the warm-up factor
# multiplies it; chained from begin=0, mmengine's two schedulers give the same curve.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
train_cfg = dict(val_interval=8000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=8000, max_keep_ckpts=1,
                                     save_best='mIoU'))
