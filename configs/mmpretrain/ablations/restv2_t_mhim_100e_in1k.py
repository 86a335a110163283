# Appendix B ResTv2-T +MHIM: ResTv1's multi-head interaction in every EMSAv2 with k > 1 heads.
# Paper: 30.44M, 4.10G, 792 img/s (V100), 80.47 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(mhim=True))
