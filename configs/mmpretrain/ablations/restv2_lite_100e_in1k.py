# Appendix B ResTv2-Lite: C = 64, blocks {2, 2, 2, 2}. Paper: 10.66M, 1.45G, 945 img/s (V100),
# 74.54 top-1.
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(arch='lite'), head=dict(in_channels=512))
