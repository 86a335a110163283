# Semantic FPN + ResTv2-T on ADE20K, 512x512 crops, 80k iterations. Not in the ResTv2 paper: the
# backbone as the paper sets it for ADE20K (stochastic depth 0.1/0.2/0.3 for T/S/B, stage-wise lr
# decay 0.9, no weight decay on norms and biases) in the Semantic FPN recipe of PVT and the RMT
# release (fpn_rmt_t_512x512_80k_ade20k.py): AdamW lr 1e-4, weight decay 1e-4, poly (power 0.9)
# to 1e-6 from iteration 0, batch 16 (8 GPUs x 2), mixed precision as the other ResTv2 configs.
# docs/configs.md.
_base_ = './fpn_rmt_t_512x512_80k_ade20k.py'
# ImageNet ResTv2-T checkpoint; its non-EMA weights are taken. None = random init.
pretrained = None
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=False)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    constructor='ResTv2LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.,
                       bias_decay_mult=0., flat_decay_mult=0.))
