# ResTv2-L fine-tuned at 384x384 (paper appendix C.1), stochastic depth 0.5.
_base_ = './restv2_t_8xb64_in1k-384px.py'
model = dict(backbone=dict(arch='large', drop_path_rate=0.5), head=dict(in_channels=1024))
