# ImageNet-1k classifier: RMT-B + the official head, the recipe of rmt_t_8xb128_in1k.py with
# stochastic depth 0.4 (official classfication_release/RMT.py builders; supplement B).
_base_ = './rmt_t_8xb128_in1k.py'
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4),
    neck=dict(in_channels=512))
