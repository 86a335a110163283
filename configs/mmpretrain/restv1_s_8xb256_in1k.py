# ImageNet-1k classifier: ResTv1-S (models/rest.py `rest_small`), as restv1_lite_8xb256_in1k.py.
# Release: 79.6 top-1, 14M, 1.9G, 1043 img/s (V100).
_base_ = './restv1_lite_8xb256_in1k.py'

model = dict(backbone=dict(arch='small'))
