"""What the families share: the backbone contract (:class:`MultiScaleBackbone`), default configs,
generic layers (MLP, depth-wise conv, upsampling), token/map layout, windows, and gradient
checkpointing."""
from .backbone import DECAY_TYPES, MultiScaleBackbone, check_norm_cfg
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .dwconv import DWConv2d
from .grad_checkpoint import (
                              CP_MODES,
                              SELECTIVE_POLICIES,
                              check_cp_mode,
                              checkpointed,
                              selective_available,
                              selective_policy,
)
from .layout import to_map, to_tokens
from .mlp import Mlp
from .upsample import UP_MODES, build_upsample, check_up_mode, upsample
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'CONV_NORM_CFG', 'CP_MODES', 'SELECTIVE_POLICIES', 'selective_available',
           'selective_policy', 'DECAY_TYPES', 'NORM_CFG', 'UP_MODES', 'DWConv2d',
           'Mlp', 'MultiScaleBackbone', 'build_upsample', 'check_cp_mode', 'check_norm_cfg',
           'check_up_mode', 'checkpointed', 'to_map', 'to_tokens', 'upsample', 'window_merge',
           'window_partition']
