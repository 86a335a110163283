# UperNet + ResTv2-T on ADE20K, 512x512 crops, 160k iterations (paper 5.2, appendix C.2):
# AdamW lr 1.5e-4, weight decay 0.05, stage-wise lr decay 0.9, linear warm-up 1500 iterations,
# batch 16 (8 GPUs x 2), stochastic depth 0.1, no weight decay on norms. Multi-scale + flip testing
# (the paper's reported mIoU) through the base's tta_pipeline: tools/test.py CONFIG CKPT --tta.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
crop_size = (512, 512)
pretrained = None  # ImageNet ResTv2-T checkpoint (official or converted); None = random init
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='ResTv2LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
