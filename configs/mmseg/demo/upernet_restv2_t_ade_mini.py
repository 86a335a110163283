# CPU demo: UperNet + ResTv2-T on the 3 real ADE20K validation images of shared/data/ade_mini,
# used for both training and evaluation (mIoU with mmseg's IoUMetric). Only what a CPU needs
# changes: data root, 256x256 crops, batch 2, a 40-iteration schedule, no data workers.
# Data root: $RESTV2_DATA (the folder that holds ade_mini/), default ../shared/data next to the repo.
_base_ = '../upernet_restv2_t_512x512_160k_ade20k.py'

data_root = '{{$RESTV2_DATA:{{fileDirname}}/../../../../shared/data}}/ade_mini'
crop_size = (256, 256)
max_iters = 40
# Random initialisation on purpose (no ImageNet weights here; the recipe config requires them).
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(init_cfg=dict(required=False)))
# A fixed seed: a rerun on the same machine repeats the losses and mIoU (docs/configs.md).
randomness = dict(seed=0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(512, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
data = dict(data_root=data_root,
            data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(**data, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(**data, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=10, end=max_iters, by_epoch=False),
]
# fp32, as every CPU demo: the stock tools (mim, mmseg's tools/train.py) refuse AmpOptimWrapper
# without a GPU (ours fall back themselves). The paper's optimizer otherwise, at a larger lr.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='ResTv2LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.,
                       bias_decay_mult=0., flat_decay_mult=0.))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
