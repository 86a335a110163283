# RetinaNet + FPN with an RMT-T backbone, COCO "1x" (supplement B; official
# detect/configs/RMT/retinanet_t_1x.py on its _base_/models/RMT_retinanet.py): single scale
# 1333x800, 12 epochs with lr x0.1 after epochs 8 and 11, linear warm-up 500 iterations from 0.001,
# AdamW lr 4e-4 (the official config; the supplement text says 1e-4), weight decay 1e-4 on every
# parameter, batch 16 (8 GPUs x 2), FPN from stage 2 (start_level=1) with the two extra levels on
# the input (add_extra_convs='on_input'), stochastic depth 0.1, SyncBN in the backbone, fp16 with a
# static loss scale of 512. Recipe table: docs/rmt.md (rows R-RMTRET-*).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)

# Path to an ImageNet RMT-T checkpoint (the official release loads as it is).
# Required: training refuses to start while it is None. Give it with --cfg-options pretrained=PATH
# (tools/train.py) or model.backbone.init_cfg.checkpoint=PATH (any OpenMMLab tool); to train from
# random weights on purpose, model.backbone.init_cfg.required=False.
pretrained = None

model = dict(
    backbone=dict(
        _delete_=True,
        type='RMT',
        arch='tiny',
        # All four outputs, as the official backbone: stage 1's is built but the FPN skips it.
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        # The official backbone hard-codes SyncBatchNorm, which its norm_eval=True does not catch.
        conv_norm_cfg=dict(type='SyncBN'),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs='on_input',
              num_outs=5))

train_dataloader = dict(batch_size=2, num_workers=2)
# fp16 = dict(loss_scale=512.0) in the official file: fp16 with a static scale. The official
# optimizer has no paramwise_cfg: weight decay on every parameter.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale=512.,
    optimizer=dict(_delete_=True, type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=1e-4))
# Stage 1's output norm gets no gradient (FPN start_level=1): find_unused_parameters=True as in
# the official file.
find_unused_parameters = True
# Every official detection file: checkpoint_config = dict(max_keep_ckpts=1) over the runtime's
# interval=1, a checkpoint every epoch, only the last kept.
default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
# 8 GPUs x 2 images; mmdet's --auto-scale-lr rescales the lr for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
