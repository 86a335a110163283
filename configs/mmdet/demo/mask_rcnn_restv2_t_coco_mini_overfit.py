# Overfit check: train and evaluate on the same 8 real COCO train2017 images. From random init the
# mAP on unseen images stays near zero (no ImageNet weights can be downloaded here); on the images it
# trained on it must rise clearly above zero, which shows the whole chain (backbone, FPN, heads,
# losses, evaluation) learns.
_base_ = './mask_rcnn_restv2_t_coco_mini.py'

num_images = 8
max_iters = 80  # 20 passes over the 8 images
train_dataloader = dict(dataset=dict(indices=num_images))
val_dataloader = dict(dataset=dict(
    ann_file='annotations/instances_train2017.json', data_prefix=dict(img='train2017/'),
    indices=num_images,
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        # 'instances' lets CocoMetric build its ground truth from these 8 images alone.
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                              'scale_factor', 'instances')),
    ]))
test_dataloader = val_dataloader
# ann_file=None: score only the evaluated images (with the json, the other 72 would count as misses).
val_evaluator = dict(ann_file=None)
test_evaluator = val_evaluator
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[int(max_iters * 0.8)], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
