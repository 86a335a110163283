# RetinaNet + FPN with a ResTv2-T backbone, COCO "1x". Not in the ResTv2 paper (its detection
# results are Mask R-CNN only). Framework recipe: RetinaNet 1x of PVTv2 (4.2) and the RMT
# supplement (B), as mmdet's pvt/retinanet_pvtv2-b2_fpn_1x_coco.py sets it: AdamW lr 1e-4, weight
# decay 1e-4, 12 epochs with lr x0.1 after epochs 8 and 11, warm-up 500 iterations, batch 16
# (8 GPUs x 2), single scale 1333x800, FPN from stage 2 with the extra levels on the input.
# ResTv2 detection rule (docs/configs.md, "ResTv2 beyond the paper"), from the paper's Mask R-CNN
# recipe (mask_rcnn_restv2_t_3x.py): stochastic depth 0.1/0.2/0.3 for T/S/B, the non-EMA ImageNet
# weights, no layer-wise lr decay, gradient clipping at L2 norm 0.01, no weight decay on norm
# layers except the backbone's output norms, bf16 mixed precision.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

# ImageNet ResTv2-T checkpoint; its non-EMA weights are taken (as for Mask R-CNN).
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
    neck=dict(in_channels=[96, 192, 384, 768], start_level=1, add_extra_convs='on_input',
              num_outs=5))

train_dataloader = dict(batch_size=2, num_workers=2)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',  # tools/train.py: fp16 on GPUs without bf16, fp32 on the CPU (warned)
    loss_scale=dict(enabled=False),  # bf16: no GradScaler ('dynamic' where it falls back to fp16)
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0., custom_keys={'backbone.norm': dict(decay_mult=1.)}),
    clip_grad=dict(max_norm=0.01, norm_type=2))
# Stage 1's output norm gets no gradient (FPN start_level=1).
find_unused_parameters = True
auto_scale_lr = dict(enable=False, base_batch_size=16)
