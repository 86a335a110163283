"""Backbones, one file per family, on the shared contract of :mod:`.base`.

``PVTEMSAv2`` extends mmdet's PVT, whose import needs mmdet's models and so mmcv's compiled ops:
it is imported on first use (``restv2_mm.models.PVTEMSAv2`` or building ``type='PVTEMSAv2'``),
so that a classification-only environment (mmpretrain with mmcv-lite) imports the package.
"""
from typing import Any

from .base import DECAY_TYPES, MultiScaleBackbone, check_norm_cfg
from .rest_family import ResTFamily
from .restv1 import ResTv1
from .restv2 import ResTv2
from .rmt import RMT
from .rmt_swin import RMTSwin

PVT_REQUIREMENT = ("PVTEMSAv2 extends mmdet's PyramidVisionTransformer: it needs mmdet >= 3.3 "
                   "with mmcv's compiled ops (the full mmcv 2.1 package, not mmcv-lite)")


def load_pvt_emsav2() -> type:
    """The :class:`~.pvt_emsav2.PVTEMSAv2` class, importing mmdet's PVT now.

    Raises:
        ImportError: mmdet's models do not import here (mmdet missing, or mmcv without its compiled
            ops); the message says what is needed and what failed.
    """
    try:
        from .pvt_emsav2 import PVTEMSAv2
    except ImportError as e:
        raise ImportError(f'{PVT_REQUIREMENT}; importing it failed: {type(e).__name__}: {e}') from e
    return PVTEMSAv2


def build_pvt_emsav2(*args: Any, **kwargs: Any):
    """``PVTEMSAv2(*args, **kwargs)``: what the model registries hold under ``'PVTEMSAv2'``, so that
    mmdet is imported only when a config builds one.

    Raises:
        ImportError: see :func:`load_pvt_emsav2`.
    """
    return load_pvt_emsav2()(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['DECAY_TYPES', 'RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'ResTFamily', 'ResTv1',
           'ResTv2', 'build_pvt_emsav2', 'check_norm_cfg', 'load_pvt_emsav2']
