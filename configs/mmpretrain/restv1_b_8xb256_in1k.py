# ImageNet-1k classifier: ResTv1-B (models/rest.py `rest_base`), as restv1_lite_8xb256_in1k.py.
# Release: 81.6 top-1, 30M, 4.3G, 673 img/s (V100).
_base_ = './restv1_lite_8xb256_in1k.py'

model = dict(backbone=dict(arch='base'), head=dict(in_channels=768))
