"""Models: backbones (one file per family), their layers, and checkpoint loading."""
from .backbones import RMT, MultiScaleBackbone, ResTv2
from .config_checks import backbone_class, check_model_channels, our_backbone
from .necks import RMTClsNeck

__all__ = ['RMT', 'MultiScaleBackbone', 'RMTClsNeck', 'ResTv2', 'backbone_class',
           'check_model_channels', 'our_backbone']
