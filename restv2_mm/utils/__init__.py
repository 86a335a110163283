"""The bottom layer: helpers with no knowledge of models, training or analysis."""
from .report import (
                     atomic_write,
                     command_line,
                     markdown_table,
                     read_json,
                     record_header,
                     write_json,
                     write_outputs,
)
from .safe_globals import SAFE_GLOBALS, UNSAFE_LOAD_ENV, register_safe_globals, unsafe_load_enabled
from .serialization import UnsafeCheckpointError, load_local_checkpoint, read_checkpoint, safe_torch_load
from .torch_compat import has_dynamo_onnx_export, is_compiling, torch_version

__all__ = ['SAFE_GLOBALS', 'UNSAFE_LOAD_ENV', 'UnsafeCheckpointError', 'atomic_write', 'command_line',
           'has_dynamo_onnx_export', 'is_compiling', 'load_local_checkpoint', 'markdown_table',
           'read_checkpoint', 'read_json', 'record_header', 'register_safe_globals', 'safe_torch_load',
           'torch_version', 'unsafe_load_enabled', 'write_json', 'write_outputs']
