# Appendix A PVT-EMSAv2-Tiny†: PVT-Tiny with EMSAv2's upsampling branch on V in every attention
# (restv2_mm PVTEMSAv2). Paper: 13.95M, 1.95G, 947 img/s (V100), 72.53 top-1 (the paper's parameter
# count is inconsistent with its FLOPs, see docs/ablations.md: this builds 13.39M, 1.95G).
_base_ = './pvt_tiny_100e_in1k.py'

model = dict(backbone=dict(up_target='v'))
