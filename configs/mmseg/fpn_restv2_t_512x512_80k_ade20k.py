# Semantic FPN + ResTv2-T on ADE20K, 512x512 crops, 80k iterations. Not in the ResTv2 paper.
# Framework recipe: the RMT supplement's Semantic FPN, as the RMT release sets it
# (segmentation/configs/RMT/RMT_FPN_*_1x.py on its _base_/schedules/schedule_80k.py): FPN neck
# (256 channels, 4 levels) + FPNHead (128 channels), AdamW lr 1e-4, weight decay 1e-4, poly decay
# (power 0.9) to 1e-6 from iteration 0 without warm-up, 80k iterations, batch 16 (8 GPUs x 2),
# single-scale evaluation and a checkpoint every 4000 iterations. The PVTv2 paper's 40k recipe:
# fpn_restv2_t_512x512_40k_ade20k.py.
# ResTv2 segmentation rule (docs/configs.md, "ResTv2 beyond the paper"), from the paper's UperNet
# recipe (upernet_restv2_t_512x512_160k_ade20k.py): stochastic depth 0.1/0.2/0.3 for T/S/B, the
# non-EMA ImageNet weights, stage-wise lr decay 0.9, no weight decay on norms, biases and other
# 1-D parameters (neck and head included), no gradient clipping, bf16 mixed precision.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
crop_size = (512, 512)
# ImageNet ResTv2-T checkpoint; its non-EMA weights are taken. Required, as in mask_rcnn_restv2_t_3x.py.
pretrained = None
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[96, 192, 384, 768]),
    decode_head=dict(num_classes=150))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    constructor='ResTv2LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.,
                       bias_decay_mult=0., flat_decay_mult=0.))
# mmcv's poly policy (power 0.9, min_lr 1e-6) over iterations 0..80k; mmseg's stock schedule
# floors at 1e-4, the AdamW lr itself.
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=80000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
train_cfg = dict(max_iters=80000, val_interval=4000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
