# ResTv2-L ImageNet-1k classifier, the paper's recipe (appendix C.1), stochastic depth 0.5.
_base_ = './restv2_t_8xb256_in1k.py'
model = dict(backbone=dict(arch='large', drop_path_rate=0.5), head=dict(in_channels=1024))
