"""What the tools share: arguments, config mutation, resume, CPU-distributed set-up, checks, run
summaries; one training step on a synthetic batch and the compatibility matrix built on it."""
from .args import CfgOptionsAction, add_common_args, add_unsafe_load_arg, apply_unsafe_load, parse_common_args
from .checks import check_whole_model_checkpoint
from .compat_families import matrix_entries
from .compat_matrix import MATRIX_BACKBONES, MATRIX_RECORD_KEYS, MATRIX_SIZE, run_matrix
from .compat_page import matrix_summary, render_matrix
from .config import apply_common_args
from .distributed import revert_sync_bn_cfg, setup_cpu_distributed
from .pretrained import check_pretrained_given
from .resume import is_complete_checkpoint, latest_checkpoint, make_resume_exact, resume_checkpoint
from .run_checks import check_output_args, check_run_settings
from .runs import render_runs, run_line, summarize_run, zero_metrics_note
from .smoke_step import smoke_step


def collect_env_main(argv=None):
    """``python -m restv2_mm.cli.collect_env``: print the environment and run the device check
    (see :mod:`.collect_env`). Imported on call, so that ``-m`` runs that module only once."""
    from .collect_env import main
    return main(argv)


__all__ = ['CfgOptionsAction', 'MATRIX_BACKBONES', 'MATRIX_RECORD_KEYS', 'MATRIX_SIZE',
           'add_common_args', 'add_unsafe_load_arg', 'apply_common_args', 'apply_unsafe_load',
           'check_output_args', 'check_run_settings', 'check_pretrained_given',
           'check_whole_model_checkpoint', 'collect_env_main', 'is_complete_checkpoint',
           'latest_checkpoint', 'make_resume_exact', 'matrix_entries', 'matrix_summary',
           'parse_common_args', 'render_matrix', 'render_runs', 'resume_checkpoint',
           'revert_sync_bn_cfg', 'run_line', 'run_matrix', 'setup_cpu_distributed', 'smoke_step',
           'summarize_run', 'zero_metrics_note']
