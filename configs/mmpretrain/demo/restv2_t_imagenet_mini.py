# CPU demo: a short fine-tune of the ResTv2-T classifier on the 50 real ImageNet val images of
# shared/data/imagenet_mini (labels 0..999), then top-1/top-5 with mmpretrain's Accuracy metric on
# the same images. Only what a CPU needs changes: data root, batch 8, 5 epochs, no EMA, short
# warm-up; Mixup/CutMix, RandAugment, label smoothing stay as in the recipe.
# Data root: $RESTV2_DATA (the folder that holds imagenet_mini/), default ../shared/data.
_base_ = '../restv2_t_8xb256_in1k.py'

data_root = '{{$RESTV2_DATA:{{fileDirname}}/../../../../shared/data}}/imagenet_mini'
max_epochs = 5
data = dict(data_root=data_root, ann_file='val.txt', data_prefix='val', split='')
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(**data))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(**data))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
# fp32, as every CPU demo: the stock tools (mim, mmpretrain's tools/train.py) refuse
# AmpOptimWrapper without a GPU (ours fall back themselves). The paper's optimizer otherwise.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = []
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False)
# A fixed seed: a rerun on the same machine repeats the losses and accuracies (docs/configs.md).
randomness = dict(seed=0)
