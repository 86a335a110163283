# Table 2d APE: learnable absolute positions per embedding, sized at 224 (appendix E, eq. 1).
# Paper: 30.98M, 79.99 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(pos_embed='ape'))
