# Fine-tuning-style ablation of paper 5.1 / Table 3 with the "x1" schedule (appendix C.2):
# 90k iterations, lr x0.1 at 60k and 80k; everything else as the 3x recipe. Global style.
_base_ = './mask_rcnn_restv2_t_3x.py'
style = 'global'
max_iters = 90000
model = dict(backbone=dict(style=style, window_size=(64, 32, 16, 8)))
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[60000, 80000], gamma=0.1),
]
