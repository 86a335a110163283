"""Model-side helpers shared by the families: checkpoint loading."""
from .checkpoint import (
                         ALLOW_NON_FINITE_ENV,
                         WEIGHTS,
                         PretrainedWeights,
                         check_finite,
                         convert_official_classifier,
                         fit_state_dict,
                         load_pretrained,
                         non_finite_tensors,
                         require_checkpoint,
                         unwrap_state_dict,
)

__all__ = ['ALLOW_NON_FINITE_ENV', 'WEIGHTS', 'PretrainedWeights', 'check_finite',
           'convert_official_classifier', 'fit_state_dict', 'load_pretrained', 'non_finite_tensors',
           'require_checkpoint', 'unwrap_state_dict']
