"""Fast paths and their plain-PyTorch references, chosen by one switch (:mod:`.switch`)."""
from .attention import attention, attention_reference
from .conv_mlp import conv_mlp_gelu
from .dwconv import dwconv_residual
from .linear import linear_add, mlp_gelu
from .norm_act import batch_norm_act, batch_norm_act_conv
from .switch import FAST_PATH_ENV, channels_last, fast_path, fast_path_enabled, tracing

__all__ = ['FAST_PATH_ENV', 'attention', 'attention_reference', 'batch_norm_act',
           'batch_norm_act_conv', 'channels_last', 'conv_mlp_gelu', 'dwconv_residual', 'fast_path',
           'fast_path_enabled', 'linear_add', 'mlp_gelu', 'tracing']
