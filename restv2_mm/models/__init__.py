"""Models: the ResT family (:mod:`.rest`: ResTv1, ResTv2, PVT-EMSAv2) and the RMT family
(:mod:`.rmt`: RMT, RMT-Swin, the classifier neck) on the shared layers and backbone contract of
:mod:`.common`, and checkpoint loading (:mod:`.utils`).

The names here are the package's public model API, the ones the tools use."""
from typing import Any

from .common import SELECTIVE_POLICIES, MultiScaleBackbone, selective_available, selective_policy
from .rest import STYLES, ResTv1, ResTv2, build_pvt_emsav2, load_pvt_emsav2
from .rmt import RMT, RetentionRelPos2d, RMTClsNeck, RMTSwin, rotate_pairs, theta_shift
from .utils import WEIGHTS, convert_official_classifier, unwrap_state_dict


def __getattr__(name: str) -> Any:
    # PVTEMSAv2 imports mmdet's models on first access (see .rest).
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'SELECTIVE_POLICIES', 'STYLES', 'WEIGHTS', 'build_pvt_emsav2', 'convert_official_classifier',
           'load_pvt_emsav2', 'RetentionRelPos2d', 'rotate_pairs', 'selective_available',
           'selective_policy', 'theta_shift', 'unwrap_state_dict']
