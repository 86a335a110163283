"""Models: backbones (one file per family), their layers, and checkpoint loading."""
from .backbones import MultiScaleBackbone, PVTEMSAv2, ResTv1, ResTv2
from .config_checks import backbone_class, check_model_channels, our_backbone

__all__ = ['MultiScaleBackbone', 'PVTEMSAv2', 'ResTv1', 'ResTv2', 'backbone_class',
           'check_model_channels', 'our_backbone']
