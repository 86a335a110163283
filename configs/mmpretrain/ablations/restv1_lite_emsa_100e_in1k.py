# Appendix A ResTv1-Lite: ResTv2-Lite's code with ResTv1's EMSA (MHIM, no upsampling). Paper: 10.50M,
# 1.44G, 1091 img/s (V100), 74.108 top-1. The released ResTv1-Lite (../restv1_lite_8xb256_in1k.py,
# BatchNorm stem) has 10.51M but 1.54G: the paper's row is this model (docs/ablations.md).
_base_ = './restv2_t_100e_in1k.py'

model = dict(
    backbone=dict(arch='lite', up_target='none', mhim=True), head=dict(in_channels=512))
