"""The one definition of the official defaults of the transformer parts and the conv stems."""

# Every LayerNorm of the official ResTv2 release has eps 1e-6 (models/rest_v2.py).
NORM_CFG = dict(type='LN', eps=1e-6)
# The MLP activation: exact (erf) GELU, nn.GELU's default.
ACT_CFG = dict(type='GELU')
# BatchNorm of the convolutional stems; SyncBN synchronises statistics across GPUs.
CONV_NORM_CFG = dict(type='BN')
