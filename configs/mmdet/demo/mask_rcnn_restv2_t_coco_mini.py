# The CPU demo: ResTv2-T Mask R-CNN (the 3x config) on the 80 + 80 real COCO images of
# shared/data/coco_mini. Only what a CPU needs changes: data root, image scale, batch, schedule.
# Data root: $RESTV2_DATA (the folder that holds coco_mini/), default ../shared/data next to the repo.
_base_ = '../mask_rcnn_restv2_t_3x.py'

data_root = '{{$RESTV2_DATA:{{fileDirname}}/../../../../shared/data}}/coco_mini/'
img_scale = (512, 320)  # (long, short) side limits; the 3x recipe uses (1333, 480..800)
max_iters = 60  # 1.5 passes over the 80 train images at batch 2 (about 5 s an iteration on 2 cores)

# No ImageNet weights can be downloaded here: the backbone starts from random initialisation on
# purpose (the 3x config refuses to without `required=False`); `pretrained = PATH` still loads one.
# Fewer proposals and sampled RoIs per image: the heads (FPN/RPN/mask convs, RoIAlign), not the
# backbone, dominate a CPU step (torch.profiler: backbone about 1.2 s of a 5.4 s step).
model = dict(backbone=dict(init_cfg=dict(required=False)),
             train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300),
                            rcnn=dict(sampler=dict(num=128))),
             test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300)))
# A fixed seed (weights, data order, flips): a rerun on the same machine repeats the losses and
# the mAP; another CPU (AVX2 vs AVX-512) rounds differently and ends elsewhere (docs/demos.md).
randomness = dict(seed=0)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    # No worker processes: loading 2 images is cheap next to a ~4.5 s step, while forking the
    # ~3 GB training process at every epoch start cost ~0.6 s an iteration on the 8-image overfit.
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
# fp32 on the CPU, and a larger lr for the short schedule.
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
