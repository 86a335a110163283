"""What the tools share: arguments, config mutation, resume, CPU-distributed set-up, checks, run
summaries."""
from .args import CfgOptionsAction, add_common_args, add_unsafe_load_arg, apply_unsafe_load, parse_common_args
from .checks import check_whole_model_checkpoint
from .config import apply_common_args
from .distributed import revert_sync_bn_cfg, setup_cpu_distributed
from .pretrained import check_pretrained_given
from .resume import is_complete_checkpoint, latest_checkpoint, make_resume_exact, resume_checkpoint
from .run_checks import check_output_args, check_run_settings
from .runs import render_runs, run_line, summarize_run, zero_metrics_note


def collect_env_main(argv=None):
    """``python -m restv2_mm.cli.collect_env``: print the environment and run the device check
    (see :mod:`.collect_env`). Imported on call, so that ``-m`` runs that module only once."""
    from .collect_env import main
    return main(argv)


__all__ = ['CfgOptionsAction', 'add_common_args', 'add_unsafe_load_arg', 'apply_common_args',
           'apply_unsafe_load', 'check_output_args', 'check_run_settings',
           'check_pretrained_given', 'check_whole_model_checkpoint',
           'collect_env_main', 'is_complete_checkpoint', 'latest_checkpoint', 'make_resume_exact',
           'parse_common_args', 'render_runs', 'resume_checkpoint', 'revert_sync_bn_cfg', 'run_line',
           'setup_cpu_distributed', 'summarize_run', 'zero_metrics_note']
