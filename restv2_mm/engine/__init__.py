from .atomic_backend import AtomicLocalBackend
from .hooks import RNGStateHook
from .runtime import (add_common_args, allow_runner_checkpoints, apply_common_args,
                      check_data_roots, check_model_channels, check_whole_model_checkpoint,
                      latest_checkpoint, parse_common_args)

__all__ = ['AtomicLocalBackend', 'RNGStateHook', 'add_common_args', 'allow_runner_checkpoints',
           'apply_common_args', 'check_data_roots', 'check_model_channels',
           'check_whole_model_checkpoint', 'latest_checkpoint', 'parse_common_args']
