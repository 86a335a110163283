""":class:`~restv2_mm.models.common.MultiScaleBackbone` under the name
:mod:`restv2_mm.models.config_checks` imports."""
from ..common.backbone import MultiScaleBackbone

__all__ = ['MultiScaleBackbone']
