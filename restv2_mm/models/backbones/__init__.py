"""Backbones, one file per family, on the shared contract of :mod:`.base`."""
from .base import DECAY_TYPES, MultiScaleBackbone
from .rest_family import ResTFamily
from .restv1 import ResTv1
from .restv2 import ResTv2

__all__ = ['DECAY_TYPES', 'MultiScaleBackbone', 'ResTFamily', 'ResTv1', 'ResTv2']
