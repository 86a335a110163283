"""restv2-mm: ResTv2 ("ResT V2: Simpler, Faster and Stronger", NeurIPS 2022) for OpenMMLab.

``import restv2_mm`` (or ``custom_imports=dict(imports=['restv2_mm'])`` in a config) registers the
backbones (``ResTv2``, ``ResTv1``, ``RMT`` and, with mmdet, ``PVTEMSAv2``) and RMT's classifier neck
``RMTClsNeck`` in the mmdet, mmseg and mmpretrain model registries, and allows torch's safe
checkpoint loader the few globals that runner checkpoints hold
(:mod:`restv2_mm.utils.safe_globals`), so that every stock tool loads them with
``weights_only=True``.
"""
from .models import RMT, ResTv1, ResTv2
from .registry import register_all
from .utils import register_safe_globals

__version__ = '0.1.0'
register_safe_globals()
REGISTERED_IN = register_all()

__all__ = ['RMT', 'ResTv1', 'ResTv2', '__version__']
