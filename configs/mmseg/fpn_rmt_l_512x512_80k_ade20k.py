# Semantic FPN + RMT-L on ADE20K, 512x512 crops, 80k iterations (official
# segmentation/configs/RMT/RMT_FPN_l_1x.py): the recipe of fpn_rmt_t_512x512_80k_ade20k.py with
# stochastic depth 0.5.
_base_ = './fpn_rmt_t_512x512_80k_ade20k.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    neck=dict(in_channels=[112, 224, 448, 640]))
