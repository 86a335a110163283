"""What the tools share: arguments, config mutation, resume, CPU-distributed set-up, checks."""
from .args import add_common_args, add_unsafe_load_arg, apply_unsafe_load, parse_common_args
from .checks import check_whole_model_checkpoint
from .config import apply_common_args
from .distributed import revert_sync_bn_cfg, setup_cpu_distributed
from .resume import is_complete_checkpoint, latest_checkpoint

__all__ = ['add_common_args', 'add_unsafe_load_arg', 'apply_common_args', 'apply_unsafe_load',
           'check_whole_model_checkpoint', 'is_complete_checkpoint', 'latest_checkpoint',
           'parse_common_args', 'revert_sync_bn_cfg', 'setup_cpu_distributed']
