# Table 2a/2b 'w/o' and Table 2c 'EMSA': EMSAv2 without the upsampling branch (ResTv1's EMSA
# without MHIM). Paper: 30.26M, 4.08G, 79.04 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(up_target='none'))
