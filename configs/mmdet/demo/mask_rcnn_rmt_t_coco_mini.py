# The CPU demo with RMT-T: the ResTv2-T demo (same data, image scale, batch, schedule and optimizer
# settings; see mask_rcnn_restv2_t_coco_mini.py) with the backbone of mask_rcnn_rmt_t_1x.py.
# Data root: $RESTV2_DATA (the folder that holds coco_mini/), default ../shared/data next to the repo.
_base_ = './mask_rcnn_restv2_t_coco_mini.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='RMT',
        arch='tiny',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=None, required=False)),
    neck=dict(in_channels=[64, 128, 256, 512]))
# The official rule: no weight decay on parameters named *norm*.
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys={'norm': dict(decay_mult=0.)}))
