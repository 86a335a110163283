"""Runtime glue shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import glob
import os
import os.path as osp
import re
import warnings
import zipfile
from typing import Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict, DictAction

from ..models.backbones.checkpoint import read_checkpoint, unwrap_state_dict
from ..models.backbones.restv2 import ResTv2


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
        cfg.load_from = latest_checkpoint(cfg.work_dir)
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume!r}')
        cfg.resume = True
        cfg.load_from = resume

    # Atomic checkpoint writes and RNG streams that survive a resume, unless the config chose.
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if hooks.get('checkpoint') is not None and hooks.checkpoint.get('backend_args') is None:
        hooks.checkpoint.backend_args = dict(backend='atomic_local')
    custom_hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('RNGStateHook', 'restv2_mm.RNGStateHook') for h in custom_hooks):
        cfg.custom_hooks = custom_hooks + [dict(type='RNGStateHook')]

    check_model_channels(cfg.get('model'))
    setup_cpu_distributed(cfg)
    return cfg


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (a truncated one has no central directory)."""
    try:
        with zipfile.ZipFile(path) as f:
            return len(f.namelist()) > 0
    except (OSError, zipfile.BadZipFile):
        return False


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: the one named in ``work_dir/last_checkpoint``,
    else the newest complete ``iter_*.pth`` / ``epoch_*.pth``; None where there is none.

    Checkpoints are written atomically (``AtomicLocalBackend``), but files from other tools or a
    ``last_checkpoint`` cut by a crash are skipped with a warning, never resumed from.
    """
    named = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(named):
        with open(named) as f:
            path = f.read().strip()
        if path and is_complete_checkpoint(path):
            return path
        warnings.warn(f'{named} names {path!r}, which is missing or incomplete: '
                      'resuming from the newest complete checkpoint instead')

    def step(p):
        m = re.search(r'(\d+)\.pth$', p)
        return int(m.group(1)) if m else -1

    found = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')) +
                   glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=step, reverse=True)
    for path in found:
        if is_complete_checkpoint(path):
            return path
        warnings.warn(f'skipping incomplete checkpoint {path}')
    return None


def _is_restv2(backbone) -> bool:
    """Whether a backbone config builds ResTv2 (``'ResTv2'`` or a scoped ``'x.ResTv2'``)."""
    return isinstance(backbone, dict) and str(backbone.get('type', '')).split('.')[-1] == 'ResTv2'


def check_model_channels(model: Optional[dict]) -> None:
    """Check that what reads a ResTv2 backbone's outputs expects its channels.

    Compares ``model.neck.in_channels`` (FPN and the like), else ``model.decode_head.in_channels``
    at its ``in_index`` (mmseg without a neck), else ``model.head.in_channels`` (a classifier,
    last output), with :meth:`ResTv2.output_channels` of ``model.backbone``.

    Raises:
        ValueError: names both settings and their values.
    """
    if not isinstance(model, dict):
        return
    backbone = model.get('backbone')
    if not _is_restv2(backbone):
        return
    arch = backbone.get('arch', 'tiny')
    out_indices = backbone.get('out_indices', (0, 1, 2, 3))
    outs = list(ResTv2.output_channels(arch, out_indices))
    source = f'model.backbone (ResTv2 arch={arch!r}, out_indices={tuple(out_indices)})'
    neck = model.get('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    head = model.get('decode_head')
    if isinstance(neck, dict) and 'in_channels' in neck:
        name, got, expected = 'model.neck.in_channels', neck['in_channels'], outs
        if isinstance(got, int):
            expected = outs[-1]
    elif isinstance(head, dict) and isinstance(head.get('in_channels'), (list, tuple)):
        index = head.get('in_index', list(range(len(outs))))
        index = [index] if isinstance(index, int) else list(index)
        if any(not -len(outs) <= i < len(outs) for i in index):
            raise ValueError(f'model.decode_head.in_index={index} points past the {len(outs)} '
                             f'outputs of {source}')
        name, got, expected = 'model.decode_head.in_channels', head['in_channels'], \
            [outs[i] for i in index]
    elif isinstance(model.get('head'), dict) and isinstance(model['head'].get('in_channels'), int):
        name, got, expected = 'model.head.in_channels', model['head']['in_channels'], outs[-1]
    else:
        return
    got = list(got) if isinstance(got, (list, tuple)) else got
    if got != expected:
        raise ValueError(f'{name}={got} does not match the channels {expected} of {source}; '
                         f'set {name}={expected} or change the backbone\'s out_indices')


def revert_sync_bn_cfg(cfg) -> int:
    """Turn every ``SyncBN`` norm config under ``cfg`` into ``BN`` in place; returns how many."""
    count = 0
    if isinstance(cfg, dict):
        if cfg.get('type') in ('SyncBN', 'MMSyncBN'):
            cfg['type'] = 'BN'
            count += 1
        for v in cfg.values():
            count += revert_sync_bn_cfg(v)
    elif isinstance(cfg, (list, tuple)):
        count += sum(revert_sync_bn_cfg(v) for v in cfg)
    return count


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on CPUs (gloo), where mmengine assumes CUDA.

    mmengine's launcher calls ``torch.cuda.set_device`` and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Without CUDA this initialises the
    process group with gloo from torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, ...),
    builds DDP without device ids, and turns SyncBN into BN (torch's SyncBatchNorm trains only on
    GPUs; with ``norm_eval=True`` the stem's norms do not train anyway). Does nothing on GPUs or
    without a launcher.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'--launcher {cfg.launcher} needs GPUs; on CPUs use --launcher pytorch '
                         '(tools/dist_train.sh)')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', ConfigDict()).setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.device_ids = None
    cfg.model_wrapper_cfg = wrapper
    if revert_sync_bn_cfg(cfg.model) or cfg.pop('sync_bn', None):
        warnings.warn('SyncBN trains only on GPUs: using BN in each process on the CPU')


def check_data_roots(cfg: Config, loaders: Sequence[str], name: Optional[str] = None) -> None:
    """Fail early, naming the setting, when a dataloader's ``dataset.data_root`` does not exist.

    ``name`` (the config path) starts the message where a tool handles several configs.

    Raises:
        FileNotFoundError: ``<loader>.dataset.data_root`` (or the wrapped dataset's) is missing.
    """
    for key in loaders:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        setting, dataset = f'{key}.dataset', loader.get('dataset')
        while isinstance(dataset, dict) and 'data_root' not in dataset and \
                isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset
            setting, dataset = setting + '.dataset', dataset['dataset']
        root = dataset.get('data_root') if isinstance(dataset, dict) else None
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{name + ": " if name else ""}{setting}.data_root={root!r} does not exist. Point '
                f'it at the dataset (--cfg-options {setting}.data_root=PATH; the demo configs read '
                f'$RESTV2_DATA, the folder that holds coco_mini/, ade_mini/, ...)')


def check_whole_model_checkpoint(path: str, cfg: Config) -> None:
    """Refuse an official ResTv2 checkpoint where a whole-model (converted) one is expected.

    mmengine loads ``load_from`` non-strictly: official keys (``stem.*``, ``stage1.*``, ``head.*``)
    would match nothing in a model whose keys start ``backbone.``, and the run would go on with
    random weights.

    Raises:
        ValueError: says which converter to run, or how to use the file as backbone weights.
    """
    model = cfg.get('model') or {}
    if not _is_restv2(model.get('backbone')):
        return
    keys = list(unwrap_state_dict(read_checkpoint(path)))
    if any(k.startswith('backbone.') for k in keys):
        return
    if any(k.startswith(('stem.', 'stage1.')) for k in keys):
        raise ValueError(
            f'{path} is an official ResTv2 checkpoint (keys stem.*, stage1.*, ...), but a whole-model '
            f'checkpoint is expected here. For a classifier convert it with `python '
            f'tools/convert_official_ckpt.py {path} OUT.pth`; to start a detector or segmentor '
            f"from it, set model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{path}')")
