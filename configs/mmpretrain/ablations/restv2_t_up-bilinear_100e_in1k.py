# Table 2b bilinear: V upsampled by bilinear interpolation (no parameters). Paper: 30.26M, 4.08G,
# 79.28 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(up_mode='bilinear'))
