# ResTv2-B ImageNet-1k classifier, the paper's recipe (appendix C.1), stochastic depth 0.3.
_base_ = './restv2_t_8xb256_in1k.py'
model = dict(backbone=dict(arch='base', drop_path_rate=0.3), head=dict(in_channels=768))
