# Table 2b nearest: V upsampled by nearest interpolation (no parameters). Paper: 30.26M, 4.08G,
# 79.16 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(up_mode='nearest'))
