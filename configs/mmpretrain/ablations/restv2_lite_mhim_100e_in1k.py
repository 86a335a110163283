# Appendix B ResTv2-Lite +MHIM, which is also appendix A's ResTv1-EMSAv2-Lite† (ResTv1-Lite's EMSA
# with MHIM plus the upsampling branch, on ResTv2's stem: the same 10.66M, 1.45G, 926 img/s and 75.04
# top-1 in both tables).
_base_ = './restv2_t_100e_in1k.py'

model = dict(backbone=dict(arch='lite', mhim=True), head=dict(in_channels=512))
