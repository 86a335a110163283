# ResTv2-L fine-tuned at 384x384 (paper appendix C.1), stochastic depth 0.5; else as T.
_base_ = './restv2_t_8xb64_in1k-384px.py'
pretrained = None  # the ResTv2-L 224 checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5, init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=1024, init_cfg=dict(checkpoint=pretrained)))
