"""Models: backbones (one file per family), their layers, and checkpoint loading."""
from .backbones import RMT, MultiScaleBackbone, PVTEMSAv2, ResTv1, ResTv2, RMTSwin
from .config_checks import backbone_class, check_model_channels, our_backbone
from .necks import RMTClsNeck

__all__ = ['RMT', 'RMTSwin', 'MultiScaleBackbone', 'PVTEMSAv2', 'RMTClsNeck', 'ResTv1', 'ResTv2',
           'backbone_class', 'check_model_channels', 'our_backbone']
