# Fine-tuning ResTv2-T at 384x384 from the 224 model (paper appendix C.1, Table 3; TRAINING.md):
# 30 epochs, AdamW lr 1.5e-5 x batch/256 at batch 512 (8 x 64), weight decay 1e-8, cosine to 1e-6
# without warm-up, RandAugment, label smoothing, random erasing, no Mixup/CutMix, clip 1.0, no EMA.
# docs/recipes.md (rows R-IN384-*) gives each setting's source.
_base_ = './restv2_t_8xb256_in1k.py'

# The 224 checkpoint to start from (official release, converted, or this repo's 224 run). As
# main.py --finetune (--model_key model|module) it takes the non-EMA weights, backbone and head.
# Required: training refuses to start while it is None; --cfg-options pretrained=PATH (tools/train.py)
# fills both init_cfg below. To train from random init on purpose, set required=False in both.
pretrained = None
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model',
                                required=True)),
    head=dict(init_cfg=dict(_delete_=True, type='PretrainedWeights', checkpoint=pretrained,
                            prefix='head.', weights='model', required=True)),
    train_cfg=dict(_delete_=True))  # no Mixup / CutMix (--mixup 0 --cutmix 0)

bgr_mean = [103.53, 116.28, 123.675]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=bgr_mean, fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
# datasets.py at 384: warp to 384 x 384 (bicubic), no crop.
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='Resize', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

batch_size = 512
optim_wrapper = dict(optimizer=dict(lr=1.5e-5 * batch_size / 256, weight_decay=1e-8))
# --warmup_epochs 0; the cosine floor is main.py's default min_lr (1e-6), not overridden.
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, end=30,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=30)
custom_hooks = []  # no EMA
auto_scale_lr = dict(base_batch_size=512)
