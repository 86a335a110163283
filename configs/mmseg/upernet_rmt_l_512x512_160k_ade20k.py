# UperNet + RMT-L on ADE20K, 512x512 crops, 160k iterations (official
# segmentation/configs/RMT/RMT_Uper_l_2x.py): the recipe of upernet_rmt_t_512x512_160k_ade20k.py with
# stochastic depth 0.5.
_base_ = './upernet_rmt_t_512x512_160k_ade20k.py'
pretrained = None  # ImageNet RMT-L checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, weights='model', required=True)),
    decode_head=dict(in_channels=[112, 224, 448, 640]),
    auxiliary_head=dict(in_channels=448))
