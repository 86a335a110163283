# Semantic FPN + RMT-B on ADE20K, 512x512 crops, 80k iterations (official
# segmentation/configs/RMT/RMT_FPN_m_1x.py): the recipe of fpn_rmt_t_512x512_80k_ade20k.py with
# stochastic depth 0.4.
_base_ = './fpn_rmt_t_512x512_80k_ade20k.py'
pretrained = None  # ImageNet RMT-B checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[80, 160, 320, 512]))
