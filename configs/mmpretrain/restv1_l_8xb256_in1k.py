# ImageNet-1k classifier: ResTv1-L (models/rest.py `rest_large`), as restv1_lite_8xb256_in1k.py.
# Release: 83.6 top-1, 52M, 7.9G, 429 img/s (V100).
_base_ = './restv1_lite_8xb256_in1k.py'

model = dict(backbone=dict(arch='large'), head=dict(in_channels=768))
