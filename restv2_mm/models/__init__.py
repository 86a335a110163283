"""Models: backbones (one file per family), their layers, and checkpoint loading.

The names here are the package's public model API, the ones the tools use."""
from typing import Any

from .backbones import RMT, MultiScaleBackbone, ResTv1, ResTv2, RMTSwin, build_pvt_emsav2, load_pvt_emsav2
from .backbones.restv2 import STYLES
from .necks import RMTClsNeck
from .utils import WEIGHTS, convert_official_classifier, unwrap_state_dict


def __getattr__(name: str) -> Any:
    # PVTEMSAv2 imports mmdet's models on first access (see .backbones).
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'STYLES', 'WEIGHTS', 'build_pvt_emsav2', 'convert_official_classifier', 'load_pvt_emsav2',
           'unwrap_state_dict']
