"""Backbones, one file per family, on the shared contract of :mod:`.base`."""
from .base import DECAY_TYPES, MultiScaleBackbone, check_token_norm_cfg
from .restv2 import ResTv2

__all__ = ['DECAY_TYPES', 'MultiScaleBackbone', 'ResTv2', 'check_token_norm_cfg']
