# ResTv2-B fine-tuned at 384x384 (paper appendix C.1), stochastic depth 0.3; else as T.
_base_ = './restv2_t_8xb64_in1k-384px.py'
pretrained = None  # the ResTv2-B 224 checkpoint; required (see the T config)
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=768, init_cfg=dict(checkpoint=pretrained)))
