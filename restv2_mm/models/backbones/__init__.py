"""The import path ``restv2_mm.models.backbones.base`` that :mod:`restv2_mm.models.config_checks`
uses; the backbones are in :mod:`restv2_mm.models.rest` and :mod:`restv2_mm.models.rmt`."""
