# Table 2d RPE: relative positions P_h + P_w added to the keys (appendix E, eq. 2). Paper: 30.48M,
# 80.32 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(pos_embed='rpe'))
