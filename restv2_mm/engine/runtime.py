"""Runtime glue shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
import warnings

import torch
from mmengine.config import Config, DictAction


def allow_runner_checkpoints() -> None:
    """Let mmengine 0.10.7 load its own runner checkpoints under torch >= 2.6.

    torch >= 2.6 defaults ``torch.load`` to ``weights_only=True``; mmengine does not pass the
    argument, and runner checkpoints pickle a message hub, numpy scalars and the config, so
    ``--resume`` fails with an UnpicklingError. torch honours ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
    only where the caller passed nothing, so explicit callers keep their choice. Only load
    checkpoints you trust (as with any pickle).
    """
    os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the flags every OpenMMLab tool shares: ``--work-dir``, ``--cfg-options``,
    ``--launcher`` and ``--local_rank`` (torch.distributed.launch passes the latter)."""
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (e.g. train_cfg.max_iters=10)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_common_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and export ``LOCAL_RANK`` for mmengine's launcher."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_common_args(cfg: Config, args) -> Config:
    """Apply the ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--amp`` and ``--resume`` flags.

    The work dir defaults to ``./work_dirs/<config name>``. ``--amp`` (or an ``AmpOptimWrapper``
    in the config) falls back to fp32 with a warning where CUDA is not available, since mmengine's
    AmpOptimWrapper refuses to start on the CPU.
    """
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = getattr(args, 'launcher', 'none')
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is not None:
        if getattr(args, 'amp', False):
            optim_wrapper.type = 'AmpOptimWrapper'
            optim_wrapper.setdefault('loss_scale', 'dynamic')
        if optim_wrapper.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
            warnings.warn('AMP needs CUDA, which is not available: training in fp32 instead')
            optim_wrapper.type = 'OptimWrapper'
            optim_wrapper.pop('loss_scale', None)

    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume!r}')
        cfg.resume = True
        cfg.load_from = resume
    return cfg
