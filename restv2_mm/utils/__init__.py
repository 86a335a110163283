"""The bottom layer: helpers with no knowledge of models, training or analysis."""
from .config_checks import check_data_roots
from .safe_globals import SAFE_GLOBALS, UNSAFE_LOAD_ENV, register_safe_globals, unsafe_load_enabled
from .serialization import UnsafeCheckpointError, read_checkpoint

__all__ = ['SAFE_GLOBALS', 'UNSAFE_LOAD_ENV', 'UnsafeCheckpointError', 'check_data_roots',
           'read_checkpoint', 'register_safe_globals', 'unsafe_load_enabled']
