# Fine-tuning RMT-S at 384x384 from the 224 model with the native decay gamma (supplement C,
# Table 3: "RMT-S", 27M, 14.7G, 84.9 %). Neither the supplement nor the release gives this run's
# settings; the rule used is the fine-tune of restv2_s_8xb64_in1k-384px.py (30 epochs, AdamW
# lr 1.5e-5 x 512/256, weight decay 1e-8, cosine to 1e-6 without warm-up, no Mixup/CutMix, no EMA,
# gradient clipping at L2 norm 1.0) on the main.py defaults of the RMT-S 224 recipe (RandAugment,
# label smoothing 0.1, random erasing 0.25, repeated augmentation, stochastic depth 0.15, fp16 with
# a dynamic loss scale), and the release's eval transform at 384 (short side 384, centre crop 384,
# bicubic). Trained in training mode (main.py's --finetune path runs model.train(False)). Recipe
# table: docs/rmt.md (rows R-RMT384-*).
_base_ = './rmt_s_8xb128_in1k.py'

# The 224 checkpoint to start from, in mmpretrain's layout (convert an official file with
# tools/model_converters/convert_official_ckpt.py) or this repo's 224 run. As main.py --finetune
# (checkpoint['model']) it takes the non-EMA weights of backbone, neck and head. Required:
# training refuses to start while it is None; --cfg-options pretrained=PATH (tools/train.py) fills
# the three init_cfg below. To train from random init on purpose, set required=False in all three.
pretrained = None
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model',
                                required=True)),
    neck=dict(init_cfg=dict(_delete_=True, type='PretrainedWeights', checkpoint=pretrained,
                            prefix='neck.', weights='model', required=True)),
    head=dict(init_cfg=dict(_delete_=True, type='PretrainedWeights', checkpoint=pretrained,
                            prefix='head.', weights='model', required=True)),
    train_cfg=dict(_delete_=True))  # no Mixup / CutMix

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
# classfication_release/datasets.py above 224: Resize(384) on the short side, CenterCrop(384).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=384, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=384),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

batch_size = 512
# The ResTv2 fine-tune command (official TRAINING.md) passes --clip_grad 1.0; main.py's default,
# which the RMT 224 recipe keeps, is none.
optim_wrapper = dict(optimizer=dict(lr=1.5e-5 * batch_size / 256, weight_decay=1e-8),
                     clip_grad=dict(_delete_=True, max_norm=1.0, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, end=30,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=30)
custom_hooks = []  # no EMA
auto_scale_lr = dict(base_batch_size=512)
