"""Model-side helpers shared by the families: checkpoint loading."""
from .checkpoint import (
                         WEIGHTS,
                         PretrainedWeights,
                         convert_official_classifier,
                         fit_state_dict,
                         load_pretrained,
                         require_checkpoint,
                         unwrap_state_dict,
)

__all__ = ['WEIGHTS', 'PretrainedWeights', 'convert_official_classifier', 'fit_state_dict', 'load_pretrained',
           'require_checkpoint', 'unwrap_state_dict']
