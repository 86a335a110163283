# A longer CPU run: UperNet + ResTv2-T on the 25 real CamVid frames of shared/data/camvid_mini
# (11 classes, label 11 = unlabelled), 200 iterations at 256x256 crops: the loss falls steadily.
_base_ = './upernet_restv2_t_ade_mini.py'

data_root = '{{$RESTV2_DATA:{{fileDirname}}/../../../../shared/data}}/camvid_mini'
max_iters = 200
classes = ('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'signsymbol', 'fence', 'car',
           'pedestrian', 'bicyclist')
# Label 11 (unlabelled) is ignored; padding takes the same value (mmseg pads labels with 255).
model = dict(data_preprocessor=dict(seg_pad_val=11),
             decode_head=dict(num_classes=11, ignore_index=11),
             auxiliary_head=dict(num_classes=11, ignore_index=11))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(480, 360), ratio_range=(0.5, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size={{_base_.crop_size}}, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(480, 360), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
data = dict(type='BaseSegDataset', data_root=data_root, metainfo=dict(classes=classes),
            img_suffix='.png', seg_map_suffix='.png', reduce_zero_label=False,
            data_prefix=dict(img_path='images/val', seg_map_path='annotations/val'))
train_dataloader = dict(dataset=dict(_delete_=True, **data, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(_delete_=True, **data, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'], ignore_index=11)
test_evaluator = val_evaluator
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=20, end=max_iters, by_epoch=False),
]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=max_iters))
