# ResTv2-S fine-tuned at 384x384 (paper appendix C.1), stochastic depth 0.2.
_base_ = './restv2_t_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='small', drop_path_rate=0.2), head=dict(in_channels=768))
