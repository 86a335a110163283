# Fine-tuning ResTv2-T at 384x384 from the 224 model (paper appendix C.1): 30 epochs, AdamW,
# lr 1.5e-5 x batch/256 at batch 512 (8 x 64), weight decay 1e-8, cosine, no warm-up,
# RandAugment (9, 0.5), label smoothing 0.1, no Mixup/CutMix, stochastic depth 0.1, clip 1.0, no EMA.
# Start from a 224 checkpoint: load_from = 'restv2_t_in1k.pth' (tools/convert_official_ckpt.py).
_base_ = './restv2_t_8xb256_in1k.py'

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
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

model = dict(train_cfg=dict(_delete_=True))  # no Mixup / CutMix
batch_size = 512
optim_wrapper = dict(optimizer=dict(lr=1.5e-5 * batch_size / 256, weight_decay=1e-8))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-8, by_epoch=True, begin=0, end=30)]
train_cfg = dict(max_epochs=30)
custom_hooks = []  # no EMA
auto_scale_lr = dict(base_batch_size=512)
