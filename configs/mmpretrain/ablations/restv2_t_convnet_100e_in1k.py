# Table 2c ConvNet: the downsample-upsample branch alone, no self-attention. Paper: 26.11M, 3.56G,
# 77.18 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(branches='conv'))
