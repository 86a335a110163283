# ResTv2-S ImageNet-1k classifier, the paper's recipe (appendix C.1), stochastic depth 0.2.
_base_ = './restv2_t_8xb256_in1k.py'
model = dict(backbone=dict(arch='small', drop_path_rate=0.2), head=dict(in_channels=768))
