# UperNet + ResTv2-T on ADE20K, 512x512 crops, 160k iterations, the paper's recipe (5.2, appendix
# C.2): AdamW lr 1.5e-4, weight decay 0.05, stage-wise lr decay 0.9, linear warm-up 1500
# iterations, batch 16 (8 GPUs x 2), stochastic depth 0.1. The released mmseg file for T differs
# (lr 6e-5, wd 0.01, no decay): upernet_restv2_t_512x512_160k_ade20k_official.py.
# Multi-scale + flip test (the paper's mIoU): tools/test.py CONFIG CKPT --tta.
# docs/recipes.md (rows R-ADE-*) gives each setting's source.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
crop_size = (512, 512)
# ImageNet ResTv2-T checkpoint; its non-EMA weights are taken (appendix C.2).
# Required: training refuses to start while it is None. Give it with --cfg-options pretrained=PATH
# (tools/train.py) or model.backbone.init_cfg.checkpoint=PATH (any OpenMMLab tool); to train from
# random weights on purpose, model.backbone.init_cfg.required=False.
pretrained = None
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))

# ConvNeXt's (and mmseg's) LearningRateDecayOptimizerConstructor, which the released S/B files
# name, exempts every 1-D parameter and bias from weight decay.
# bf16 AMP (the release trains in fp32): activation memory decides the batch at 512x512;
# tools/train.py uses fp16 on GPUs without bf16 and fp32 on the CPU (warned).
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1.5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='ResTv2LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.,
                       bias_decay_mult=0., flat_decay_mult=0.))
# mmcv's poly policy with linear warm-up (warmup_ratio 1e-6): the poly curve runs from iteration
# 0 to 160k and the warm-up factor multiplies it, so both schedulers start at 0.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)

# Multi-scale test of mmseg 0.x --aug-test (MultiScaleFlipAug on img_scale (2048, 512)): each
# ratio scales the (2048, 512) bound, not the image; keep ratio; each scale also flipped.
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(2048 * r), int(512 * r)), keep_ratio=True)
         for r in img_ratios],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')],
        [dict(type='PackSegInputs')],
    ]),
]
