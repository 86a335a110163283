"""restv2-mm: ResTv2 ("ResT V2: Simpler, Faster and Stronger", NeurIPS 2022) for OpenMMLab.

``import restv2_mm`` (or ``custom_imports=dict(imports=['restv2_mm'])`` in a config) registers
``ResTv2``, ``ResTv1`` and (with mmdet) ``PVTEMSAv2`` in the mmdet, mmseg and mmpretrain model
registries.
"""
from .models import ResTv2
from .registry import register_all

__version__ = '0.1.0'
REGISTERED_IN = register_all()

__all__ = ['ResTv2', '__version__']
