# Cascade Mask R-CNN + FPN with a ResTv2-T backbone, COCO "3x + MS". Not in the ResTv2 paper.
# Framework recipe: mmdet's ConvNeXt Cascade Mask R-CNN 3x + MS file (the base below; the heads and
# pipeline of the RMT release too): three box heads of 4 convs + 1 fc with SyncBN and GIoU loss,
# 36 epochs with lr x0.1 after 27 and 33, warm-up 1000 iterations, flip then multi-scale 480..800
# or resize + random crop + 480..800, batch 16 (8 GPUs x 2); AdamW lr 1e-4 and weight decay 0.05,
# the paper's Mask R-CNN values (and the RMT supplement's for Cascade).
# ResTv2 detection rule (docs/configs.md, "ResTv2 beyond the paper"), from the paper's Mask R-CNN
# recipe (mask_rcnn_restv2_t_3x.py): stochastic depth 0.1/0.2/0.3 for T/S/B, the non-EMA ImageNet
# weights, no layer-wise lr decay (the base's ConvNeXt decay is dropped), gradient clipping at L2
# norm 0.01, no weight decay on norm layers (the heads' SyncBN included) except the backbone's
# output norms, bf16 mixed precision.
_base_ = 'mmdet::convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py'
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

# ImageNet ResTv2-T checkpoint; its non-EMA weights are taken. Required, as in mask_rcnn_restv2_t_3x.py.
pretrained = None
checkpoint_file = None  # the base's ConvNeXt checkpoint, unused here
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResTv2',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'backbone.norm': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=0.01, norm_type=2))
