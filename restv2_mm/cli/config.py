"""Turning a config and the tools' flags into what the runner runs."""
import os.path as osp
import warnings

import torch
from mmengine.config import Config, ConfigDict

from ..apis import check_model_channels
from .distributed import setup_cpu_distributed
from .pretrained import apply_pretrained, waive_required_pretrained
from .resume import latest_checkpoint, make_resume_exact
from .run_checks import check_output_args, check_run_settings


def apply_common_args(cfg: Config, args) -> Config:
    """Apply the ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--amp`` and ``--resume`` flags.

    The work dir defaults to ``./work_dirs/<config name>``. A top-level ``pretrained`` (from
    ``--cfg-options pretrained=PATH`` or a config that inherits ours) reaches the model's
    ``Pretrained`` init_cfg (:func:`apply_pretrained`); a run that starts from whole-model weights
    (``--resume``, ``load_from``) needs no ImageNet checkpoint (:func:`waive_required_pretrained`).
    ``--amp`` turns on bf16 AMP; an ``AmpOptimWrapper`` (from ``--amp`` or the config) is adapted
    by :func:`resolve_amp`.

    Raises:
        ValueError: see :func:`apply_pretrained`. FileNotFoundError: no ``--resume`` checkpoint.
    """
    declared = cfg.get('pretrained')
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    apply_pretrained(cfg, declared)
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
            optim_wrapper.setdefault('dtype', 'bfloat16')
        if optim_wrapper.get('type') == 'AmpOptimWrapper':
            resolve_amp(optim_wrapper)

    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        cfg.resume = True
        cfg.load_from = latest_checkpoint(cfg.work_dir)
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint not found: {resume!r}')
        cfg.resume = True
        cfg.load_from = resume
    if cfg.get('load_from'):
        waive_required_pretrained(cfg)

    # Atomic checkpoint writes and RNG streams that survive a resume, unless the config chose.
    hooks = cfg.setdefault('default_hooks', ConfigDict())
    if hooks.get('checkpoint') is not None and hooks.checkpoint.get('backend_args') is None:
        hooks.checkpoint.backend_args = dict(backend='atomic_local')
    check_run_settings(cfg)
    check_output_args(args)
    make_resume_exact(cfg)

    check_model_channels(cfg.get('model'), cfg.get('default_scope'))
    setup_cpu_distributed(cfg)
    return cfg


def resolve_amp(optim_wrapper: dict) -> None:
    """Make an ``AmpOptimWrapper`` config run where it is: bf16 autocast where the GPU supports it,
    fp16 (with dynamic loss scaling) on GPUs without bf16 (before Ampere), fp32 without CUDA
    (mmengine's AmpOptimWrapper refuses to start on the CPU). Each fallback warns.
    """
    if not torch.cuda.is_available():
        warnings.warn('AMP needs CUDA, which is not available: training in fp32 instead')
        optim_wrapper.type = 'OptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.pop('dtype', None)
    elif optim_wrapper.get('dtype') in ('bfloat16', torch.bfloat16) and \
            not torch.cuda.is_bf16_supported():
        warnings.warn(f'{torch.cuda.get_device_name()} has no bf16: AMP in fp16 with dynamic loss '
                      'scaling instead')
        optim_wrapper.dtype = 'float16'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
