"""Backbones, one file per family, on the shared contract of :mod:`.base`."""
from .base import DECAY_TYPES, MultiScaleBackbone, check_norm_cfg
from .restv2 import ResTv2
from .rmt import RMT

__all__ = ['DECAY_TYPES', 'RMT', 'MultiScaleBackbone', 'ResTv2', 'check_norm_cfg']
