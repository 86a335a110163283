# ImageNet-1k classifier: RMT-T + the official head (Linear 512 -> 1024, BatchNorm, Swish, global
# average pooling, Linear 1024 -> 1000), with the supplement-B / official classfication_release
# recipe (DeiT's): 300 epochs, AdamW lr 5e-4 x 1024 / 512 = 1e-3, weight decay 0.05 (none on biases
# and norms), 5 linear warm-up epochs from 1e-6, cosine to 1e-5, batch 1024 (8 GPUs x 128),
# RandAugment rand-m9-mstd0.5-inc1, Mixup 0.8, CutMix 1.0, label smoothing 0.1, random erasing 0.25,
# repeated augmentation, EMA of weights and buffers (0.99996 ** 2 per step; raw and EMA weights both
# validated), no gradient clipping, fp16 autocast with a dynamic loss scale, stochastic depth 0.1,
# SyncBN. The released training logs ran 2048 images a step at lr 2e-3, the same lr per image:
# 16 GPUs x 128 with --auto-scale-lr. Recipe table: docs/rmt.md (rows R-RMTIN-*).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
# An RMT checkpoint to start the backbone from (official layouts load as they are); None: train
# from scratch (random init, which the log reports), as the recipe does.
pretrained = None

model = dict(
    type='ImageClassifier',
    # The official classifier converts every BatchNorm to SyncBatchNorm (main.py).
    backbone=dict(type='RMT', arch='tiny', out_indices=(3, ), out_norm_cfg=None,
                  drop_path_rate=0.1, conv_norm_cfg=dict(type='SyncBN'),
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(type='RMTClsNeck', in_channels=512, out_channels=1024,
              conv_norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=.02, bias=0.)),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

train_dataloader = dict(batch_size=128, sampler=dict(type='RepeatAugSampler', shuffle=True))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
# main.py: torch.cuda.amp.autocast (fp16) and timm's NativeScaler (a dynamic GradScaler);
# --clip-grad defaults to None. tools/train.py trains in fp32 (warned) where CUDA is missing.
optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic', clip_grad=None)
# main.py steps timm's CosineLRScheduler (warm-up 5 epochs from 1e-6, cosine over t = 0..300 to
# 1e-5, warm-up epochs included) once per epoch with step(epoch) after epoch `epoch`: a staircase
# in which epoch e >= 1 trains at the value for e - 1 and epochs 0 and 1 both at 1e-6. The same
# staircase, per epoch: epoch 0 at 1e-3 x lr (ConstantLR, restored at epoch 1), a linear factor
# from 1e-3 at epoch 1 to 1 at epoch 6, and cos(pi * (e - 1) / 300) from epoch 1 (docs/rmt.md,
# row R-RMTIN-07).
param_scheduler = [
    dict(type='ConstantLR', factor=1e-3, by_epoch=True, begin=0, end=2),
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, by_epoch=True, begin=1, end=7),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=301, T_max=300),
]
# The official timm ModelEma decays by 0.99996 ** (batch / 512) per step: momentum 8e-5 at 1024.
# It averages the whole state dict, BatchNorm statistics included: update_buffers=True.
# main.py validates the raw and the EMA weights every epoch and reports the best of both: with
# evaluate_on_origin (mmpretrain's EMAHook) each validation logs the EMA's accuracy/top1 and the
# raw model's accuracy/top1_origin (docs/rmt.md, row R-RMTIN-23).
custom_hooks = [dict(type='EMAHook', momentum=8e-5, update_buffers=True, evaluate_on_origin=True,
                     priority='ABOVE_NORMAL')]
