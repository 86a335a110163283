# Cascade Mask R-CNN + FPN with a ResTv2-T backbone, COCO "3x + MS". Not in the ResTv2 paper: the
# backbone as the paper sets it for detection (stochastic depth 0.1/0.2/0.3 for T/S/B, no
# layer-wise lr decay) and its detection optimizer (AdamW lr 1e-4, weight decay 0.05, none on norm
# layers), in the Cascade Mask R-CNN 3x + MS recipe of cascade_mask_rcnn_rmt_t_3x.py (Swin's and
# ConvNeXt's: 4conv1fc GIoU box heads, 36 epochs, lr x0.1 after 27 and 33, multi-scale 480..800
# with the random-crop branch), mixed precision as the other ResTv2 configs. docs/configs.md.
_base_ = './cascade_mask_rcnn_rmt_t_3x.py'

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
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.))
