# Table 2d PEG: x + DWConv3x3(x) (appendix E, eq. 4). Paper: 30.43M, 80.17 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(pos_embed='peg'))
