# UperNet + ResTv2-S on ADE20K (paper Table 5), stochastic depth 0.2; otherwise as the T config.
_base_ = './upernet_restv2_t_512x512_160k_ade20k.py'
pretrained = None
model = dict(backbone=dict(arch='small', drop_path_rate=0.2,
                           init_cfg=dict(checkpoint=pretrained)))
