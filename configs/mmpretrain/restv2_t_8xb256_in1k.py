# ImageNet-1k classifier: ResTv2-T + global average pooling + linear head (paper Table 1), with the
# paper's 300-epoch recipe (appendix C.1, Table 3) as the official main.py / TRAINING.md run it.
# docs/recipes.md (rows R-IN224-*) gives each setting's source; tests/test_configs/ check them.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',  # the timm train pipeline
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    # From scratch the backbone applies the official init itself (trunc-normal 0.02 on every
    # Conv2d/Linear, zero biases, norms 1/0); the model-level init_cfg does the same for the head.
    backbone=dict(type='ResTv2', arch='tiny', out_indices=(3, ), drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ],
    # timm Mixup(prob=1.0, switch_prob=0.5): every batch gets one of the two, chosen evenly.
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

# Evaluation as datasets.py: PIL decode, short side to 224 / crop_pct with crop_pct = 1.0
# (main.py default), bicubic, then the central 224 x 224 (the base's 256 would be crop_pct 0.875).
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='ResizeEdge', scale=224, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=256)
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

batch_size = 2048
# AMP as main.py (--use_amp true); tools/train.py falls back to fp32 (with a warning) on the CPU.
# Weight decay skips every 1-D parameter and bias, as optim_factory.py (ndim == 1 or .bias).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1.5e-4 * batch_size / 256, weight_decay=0.05,
                   eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0))
# utils.cosine_scheduler: linear warm-up, then cosine to min_lr 1e-6, both updated every iteration.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=50, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=50, end=300,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# timm ModelEma(decay 0.9999) after every step, buffers (the stem's BN statistics) included.
custom_hooks = [dict(type='EMAHook', momentum=1e-4, update_buffers=True, priority='ABOVE_NORMAL')]
auto_scale_lr = dict(base_batch_size=2048)
