# Mask R-CNN + FPN with a ResTv2-T backbone, the paper's "x3" COCO recipe (appendix C.2) as the
# official detectron2 files run it (Base-RCNN-FPN.yaml + ResTv2/mask_rcnn_restv2_tiny_FPN_3x.yaml):
# AdamW lr 1e-4, weight decay 0.05, full-model gradient clipping 0.01, batch 16 (8 GPUs x 2),
# 270k iterations with lr x0.1 at 210k and 250k, relative 0.9 crop then multi-scale resize, AMP.
# docs/recipes.md (rows R-COCO3X-*) gives each setting's source.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

# ImageNet ResTv2-T checkpoint (official release, converted, or this repo's 224 run). Its non-EMA
# weights are taken, as convert_to_d2.py (["model"]) and appendix C.2 do.
# Required: training refuses to start while it is None. Give it with --cfg-options pretrained=PATH
# (tools/train.py) or model.backbone.init_cfg.checkpoint=PATH (any OpenMMLab tool); to train from
# random weights on purpose, model.backbone.init_cfg.required=False.
pretrained = None

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[96, 192, 384, 768]))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    # detectron2 INPUT.CROP (relative, 0.9 x 0.9), before the resize. Like detectron2: an image
    # keeps its crop even with no object left, and boxes are recomputed from the cropped masks.
    dict(type='RandomCrop', crop_type='relative', crop_size=(0.9, 0.9),
         allow_negative_crop=True, recompute_bbox=True),
    # The official 3x yaml's MIN_SIZE_TRAIN, sampled by "choice"; long side <= 1333.
    dict(type='RandomChoiceResize',
         scales=[(1333, s) for s in (480, 512, 534, 576, 640, 672, 704, 736, 768, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(pipeline=train_pipeline))

max_iters = 270000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[210000, 250000], gamma=0.1),
]
# AMP on GPU; tools/train.py falls back to fp32 (with a warning) where CUDA is missing.
# Weight decay as detectron2's get_default_optimizer_params: none on torch norm layers, biases
# decayed. The official backbone's output norms are a custom LayerNorm class that rule misses,
# so they are decayed there too: 'backbone.norm' (our norm0..norm3) keeps decay_mult 1.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'backbone.norm': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=0.01, norm_type=2))  # SOLVER.CLIP_GRADIENTS full_model, L2, 0.01
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
# 8 GPUs x 2 images; mmdet's --auto-scale-lr rescales the lr for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
