"""Command-line arguments every tool shares."""
import argparse
import os
import warnings

from mmengine.config import DictAction

from ..utils import UNSAFE_LOAD_ENV


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` (``key=value`` items into a dict), which fails on an item without
    ``=`` with a bare "not enough values to unpack": this one names the item (argparse exits 2)."""

    def __call__(self, parser, namespace, values, option_string=None):
        bad = [v for v in values if '=' not in v]
        if bad:
            parser.error(f'{option_string} takes key=value items (e.g. train_cfg.max_iters=10), '
                         f'got {bad[0]!r}')
        super().__call__(parser, namespace, values, option_string)


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags every OpenMMLab tool shares: ``--work-dir``, ``--cfg-options``,
    ``--launcher`` and ``--local_rank`` (torch.distributed.launch passes the latter); and
    ``--unsafe-load``."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, key=value (e.g. train_cfg.max_iters=10)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_unsafe_load_arg(parser)
    return parser


def add_unsafe_load_arg(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--unsafe-load``: load checkpoints with full unpickling (runs any code a file holds)."""
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help=f'UNSAFE: load checkpoints with full unpickling (sets {UNSAFE_LOAD_ENV}=1), for '
             'trusted files that hold objects the safe weights_only loader refuses')
    return parser


def apply_unsafe_load(args: argparse.Namespace) -> None:
    """Turn full unpickling on for this process and its children where ``--unsafe-load`` was
    given, with a warning."""
    if getattr(args, 'unsafe_load', False):
        warnings.warn(f'--unsafe-load: checkpoints are loaded with full unpickling '
                      f'({UNSAFE_LOAD_ENV}=1), which runs any code they contain')
        os.environ[UNSAFE_LOAD_ENV] = '1'


def parse_common_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv``, export ``LOCAL_RANK`` for mmengine's launcher, apply ``--unsafe-load``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    apply_unsafe_load(args)
    return args
