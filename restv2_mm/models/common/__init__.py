"""What the families share: the backbone contract (:class:`MultiScaleBackbone`), pretrained
weights (:mod:`.pretrained`), gradient checkpointing (:mod:`.recompute`), default configs, the MLP,
upsampling, token/map layout and windows."""
from .backbone import DECAY_TYPES, MultiScaleBackbone, check_norm_cfg
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .layout import to_map, to_tokens
from .mlp import Mlp
from .pretrained import (
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
from .recompute import CP_MODES, check_cp_mode, recomputed, selective_available
from .upsample import UP_MODES, InterpolateUp, PixelShuffleUp, build_upsample, check_up_mode, upsample
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'ALLOW_NON_FINITE_ENV', 'CONV_NORM_CFG', 'CP_MODES', 'DECAY_TYPES', 'NORM_CFG',
           'UP_MODES', 'WEIGHTS', 'InterpolateUp', 'Mlp', 'MultiScaleBackbone', 'PixelShuffleUp',
           'PretrainedWeights', 'build_upsample', 'check_cp_mode', 'check_finite', 'check_norm_cfg',
           'check_up_mode', 'convert_official_classifier', 'fit_state_dict', 'load_pretrained',
           'non_finite_tensors', 'recomputed', 'require_checkpoint', 'selective_available', 'to_map',
           'to_tokens', 'unwrap_state_dict', 'upsample', 'window_merge', 'window_partition']
