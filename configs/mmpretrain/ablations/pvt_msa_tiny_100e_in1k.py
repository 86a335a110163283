# Appendix A PVT-MSA-Tiny*: PVT-Tiny with standard MSA (no spatial reduction). Paper: 11.36M, 4.81G,
# 617 img/s (V100), 72.38 top-1.
_base_ = './pvt_tiny_100e_in1k.py'

model = dict(backbone=dict(sr_ratios=[1, 1, 1, 1]))
