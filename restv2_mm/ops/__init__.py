"""Fast paths and their plain-PyTorch references, chosen by one switch (:mod:`.switch`)."""
from .attention import attention, attention_reference
from .linear import linear_add, mlp_gelu
from .switch import FAST_PATH_ENV, channels_last, fast_path, fast_path_enabled, tracing

__all__ = ['FAST_PATH_ENV', 'attention', 'attention_reference', 'channels_last', 'fast_path',
           'fast_path_enabled',
           'linear_add', 'mlp_gelu', 'tracing']
