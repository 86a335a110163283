"""Backbones, one file per family, on the shared contract of :mod:`.base`."""
from importlib.util import find_spec

from .base import DECAY_TYPES, MultiScaleBackbone, check_norm_cfg
from .rest_family import ResTFamily
from .restv1 import ResTv1
from .restv2 import ResTv2
from .rmt import RMT
from .rmt_swin import RMTSwin

# PVT comes from mmdet, which restv2-mm does not require.
if find_spec('mmdet') is not None:
    from .pvt_emsav2 import PVTEMSAv2
else:
    PVTEMSAv2 = None

__all__ = ['DECAY_TYPES', 'RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'ResTFamily', 'ResTv1',
           'ResTv2', 'check_norm_cfg']
