from .runtime import allow_runner_checkpoints, apply_common_args

__all__ = ['allow_runner_checkpoints', 'apply_common_args']
