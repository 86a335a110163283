"""Models: backbones (one file per family), their layers, and checkpoint loading."""
from typing import Any

from .backbones import RMT, MultiScaleBackbone, ResTv1, ResTv2, RMTSwin, build_pvt_emsav2, load_pvt_emsav2
from .config_checks import backbone_class, check_model_channels, our_backbone
from .necks import RMTClsNeck


def __getattr__(name: str) -> Any:
    # PVTEMSAv2 imports mmdet's models on first access (see .backbones).
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'backbone_class', 'build_pvt_emsav2', 'check_model_channels', 'load_pvt_emsav2',
           'our_backbone']
