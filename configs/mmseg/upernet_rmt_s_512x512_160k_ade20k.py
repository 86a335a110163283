# UperNet + RMT-S on ADE20K, 512x512 crops, 160k iterations (official
# segmentation/configs/RMT/RMT_Uper_s_2x.py): the recipe of upernet_rmt_t_512x512_160k_ade20k.py with
# stochastic depth 0.15.
_base_ = './upernet_rmt_t_512x512_160k_ade20k.py'
pretrained = None  # ImageNet RMT-S checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
