"""Models: the ResT family (:mod:`.rest`: ResTv1, ResTv2, PVT-EMSAv2) and the RMT family
(:mod:`.rmt`: RMT, RMT-Swin, the classifier neck) on what they share (:mod:`.common`: the backbone
contract, pretrained weights, gradient checkpointing).

The names here are what users and the tools call."""
from typing import Any

from .common import (
                     WEIGHTS,
                     MultiScaleBackbone,
                     convert_official_classifier,
                     selective_available,
                     unwrap_state_dict,
)
from .rest import STYLES, ResTv1, ResTv2, build_pvt_emsav2, load_pvt_emsav2
from .rmt import RMT, RMTClsNeck, RMTSwin


def __getattr__(name: str) -> Any:
    # PVTEMSAv2 imports mmdet's models on first access (see .rest).
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'STYLES', 'WEIGHTS', 'build_pvt_emsav2', 'convert_official_classifier',
           'load_pvt_emsav2', 'selective_available', 'unwrap_state_dict']
