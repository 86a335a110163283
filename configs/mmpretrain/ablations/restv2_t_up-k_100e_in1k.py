# Table 2a K: upsample the keys instead of V. Paper: 80.03 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(up_target='k'))
