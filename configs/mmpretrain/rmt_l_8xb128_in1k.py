# ImageNet-1k classifier: RMT-L + the official head, the recipe of rmt_t_8xb128_in1k.py with
# stochastic depth 0.5 (official classfication_release/RMT.py builders; supplement B).
_base_ = './rmt_t_8xb128_in1k.py'
model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5),
    neck=dict(in_channels=640))
