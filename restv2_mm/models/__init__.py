"""Models: the ResT family (:mod:`.rest`: ResTv1, ResTv2, PVT-EMSAv2) and the RMT family
(:mod:`.rmt`: RMT, RMT-Swin, the classifier neck) on the shared layers and backbone contract of
:mod:`.common`, and checkpoint loading (:mod:`.utils`)."""
from typing import Any

from .common import MultiScaleBackbone
from .config_checks import backbone_class, check_model_channels, our_backbone
from .rest import STYLES, ResTv1, ResTv2, build_pvt_emsav2, load_pvt_emsav2
from .rmt import RMT, RMTClsNeck, RMTSwin


def __getattr__(name: str) -> Any:
    # PVTEMSAv2 imports mmdet's models on first access (see .rest).
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'STYLES', 'backbone_class', 'build_pvt_emsav2', 'check_model_channels', 'load_pvt_emsav2',
           'our_backbone']
