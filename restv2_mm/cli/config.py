"""Turning a config and the tools' flags into what the runner runs."""
import os.path as osp
import warnings

import torch
from mmengine.config import Config, ConfigDict

from ..apis import check_model_channels
from .cuda import check_cuda_ops, device_name, local_device_index, native_bf16
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
    by :func:`resolve_amp`. A run on CUDA whose model needs mmcv's CUDA ops stops here if mmcv has
    none (:func:`.cuda.check_cuda_ops`).

    Raises:
        ValueError: see :func:`apply_pretrained`. FileNotFoundError: no ``--resume`` checkpoint.
        MissingCudaOpsError: see :func:`.cuda.check_cuda_ops`.
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
    check_cuda_ops(cfg)
    setup_cpu_distributed(cfg)
    return cfg


def resolve_amp(optim_wrapper: dict) -> None:
    """Make an ``AmpOptimWrapper`` config run where it is, in place: bf16 autocast without a loss
    scaler where this process's GPU computes bf16 natively (compute capability >= 8.0), fp16 with
    dynamic loss scaling on older GPUs (T4, V100), fp32 without CUDA (mmengine's AmpOptimWrapper
    refuses to start on the CPU). Each fallback warns.

    The device is the one this rank will train on (``LOCAL_RANK``, :func:`.cuda.local_device_index`),
    judged from its properties: no CUDA context is created on it or on GPU 0. bf16 has fp32's
    exponent range, so it needs no loss scaling; mmengine's AmpOptimWrapper builds a GradScaler
    whatever the dtype (``loss_scale='dynamic'`` by default), whose inf check reads a flag from the
    GPU every step, so bf16 gets ``loss_scale=dict(enabled=False)`` (a pass-through GradScaler).
    An ``AmpOptimWrapper`` without ``dtype`` (fp16 on CUDA) or with ``'float16'`` keeps its
    loss scale.
    """
    if not torch.cuda.is_available():
        warnings.warn('AMP needs CUDA, which is not available: training in fp32 instead')
        optim_wrapper.type = 'OptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.pop('dtype', None)
        return
    if optim_wrapper.get('dtype') not in ('bfloat16', torch.bfloat16):
        return
    scale = optim_wrapper.get('loss_scale')
    unscaled = isinstance(scale, dict) and scale.get('enabled') is False
    index = local_device_index()
    if native_bf16(index):
        if not unscaled:
            if scale is not None:
                warnings.warn(f'bf16 AMP needs no loss scaling: loss_scale={scale!r} replaced by '
                              "dict(enabled=False) (a GradScaler syncs with the GPU every step)")
            optim_wrapper.loss_scale = dict(enabled=False)
        return
    warnings.warn(f'{device_name(index)} has no native bf16 (compute capability < 8.0): AMP in fp16 '
                  'with dynamic loss scaling instead')
    optim_wrapper.dtype = 'float16'
    if scale is None or unscaled:
        optim_wrapper.loss_scale = 'dynamic'
