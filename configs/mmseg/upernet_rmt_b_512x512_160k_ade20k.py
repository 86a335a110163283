# UperNet + RMT-B on ADE20K, 512x512 crops, 160k iterations (official
# segmentation/configs/RMT/RMT_Uper_m_2x.py): the recipe of upernet_rmt_t_512x512_160k_ade20k.py with
# stochastic depth 0.4.
_base_ = './upernet_rmt_t_512x512_160k_ade20k.py'
pretrained = None  # ImageNet RMT-B checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    decode_head=dict(in_channels=[80, 160, 320, 512]),
    auxiliary_head=dict(in_channels=320))
