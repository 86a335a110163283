# Semantic FPN + RMT-S on ADE20K, 512x512 crops, 80k iterations (official
# segmentation/configs/RMT/RMT_FPN_s_1x.py): the recipe of fpn_rmt_t_512x512_80k_ade20k.py with
# stochastic depth 0.15.
_base_ = './fpn_rmt_t_512x512_80k_ade20k.py'
pretrained = None  # ImageNet RMT-S checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[64, 128, 256, 512]))
