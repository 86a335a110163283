from .runtime import (add_common_args, allow_runner_checkpoints, apply_common_args,
                      parse_common_args)

__all__ = ['add_common_args', 'allow_runner_checkpoints', 'apply_common_args', 'parse_common_args']
