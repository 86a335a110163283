# RetinaNet + FPN, RMT-T, COCO "3x + MS" (supplement B: "all models" trained 1x and 3x+MS; the
# official release has RetinaNet 1x files only). The rule used: the optimizer of the official
# retinanet_t_1x.py (AdamW lr 4e-4, weight decay 1e-4, fp16 loss scale 512) with the 3x schedule
# and multi-scale pipeline of the official maskrcnn_s_3x.py: 36 epochs, lr x0.1 after epochs 27
# and 33, warm-up 500 iterations; flip, then either a random short side 480..800 (step 32, long side
# <= 1333) or a resize to 400/500/600, a random 384..600 crop and a 480..800 resize.
_base_ = './retinanet_rmt_t_1x.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomChoiceResize',
                  scales=[(1333, s) for s in range(480, 801, 32)],
                  keep_ratio=True)],
            [dict(type='RandomChoiceResize',
                  scales=[(1333, 400), (1333, 500), (1333, 600)],
                  keep_ratio=True),
             dict(type='RandomCrop',
                  crop_type='absolute_range',
                  crop_size=(384, 600),
                  allow_negative_crop=True),
             dict(type='RandomChoiceResize',
                  scales=[(1333, s) for s in range(480, 801, 32)],
                  keep_ratio=True)],
        ]),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33],
         gamma=0.1),
]
