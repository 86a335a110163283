# Table 2d w/o: no positional embedding. Paper: 30.42M, 79.94 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(pos_embed='none'))
