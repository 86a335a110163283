# Table 2a x': upsample the reduced input x' instead of V. Paper: 79.64 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(up_target='x'))
