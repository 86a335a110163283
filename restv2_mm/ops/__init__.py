"""The ops the models call and their fast paths (:data:`FAST_PATHS`, one table), chosen by one
switch (:func:`fast_path`)."""
from .fast_paths import (
                         FAST_PATHS,
                         FastPath,
                         attention,
                         batch_norm_act_conv,
                         channels_last,
                         column_attention,
                         conv_mlp,
                         dwconv_residual,
                         fast_path_name,
                         fast_path_table,
                         mlp,
                         rotary,
                         without_fast_paths,
)
from .switch import FAST_PATH_ENV, choose_as, fast_path, fast_path_enabled

__all__ = ['FAST_PATHS', 'FAST_PATH_ENV', 'FastPath', 'attention', 'batch_norm_act_conv',
           'channels_last', 'choose_as', 'column_attention', 'conv_mlp', 'dwconv_residual',
           'fast_path', 'fast_path_enabled', 'fast_path_name', 'fast_path_table', 'mlp', 'rotary',
           'without_fast_paths']
