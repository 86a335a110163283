# ImageNet-1k classifier: ResTv1-Lite (github.com/wofmanaf/ResT models/rest.py, `rest_lite`) +
# global average pooling + linear head; official ResTv1 checkpoints load into the backbone
# unchanged (init_cfg=dict(type='Pretrained', checkpoint=PATH)). Release: 77.2 top-1, 11M, 1.4G,
# 1246 img/s (V100).
# Recipe: the official code trains ResTv1 and ResTv2 with the same main.py, and ResTv2 3.3 says its
# other hyper-parameters are ResTv1's, so this is the 300-epoch recipe of restv2_t_8xb256_in1k.py.
# The release gives no stochastic depth per ResTv1 model: 0.1, TRAINING.md's value (for ResTv2-T).
_base_ = './restv2_t_8xb256_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='ResTv1', arch='lite', out_indices=(3, ), drop_path_rate=0.1),
    head=dict(in_channels=512))
