"""Turning a config and the tools' flags into what the runner runs."""
import os.path as osp
import warnings
from typing import Iterator, List, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from ..apis import check_model_channels
from .distributed import setup_cpu_distributed
from .resume import latest_checkpoint, make_resume_exact
from .run_checks import check_output_args, check_run_settings

# The initializers that load a checkpoint file: mmengine's (both names) and ours.
PRETRAINED_INITS = ('Pretrained', 'PretrainedInit', 'PretrainedWeights')


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


def pretrained_inits(model: dict, prefix: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(key, init_cfg)`` of every checkpoint-loading init_cfg (``type`` one of
    :data:`PRETRAINED_INITS`, scope prefix allowed) in a model config, nested parts included,
    e.g. ``('model.backbone.init_cfg', {...})``; an init_cfg list gives ``init_cfg.0``, ..."""
    items = model.items() if isinstance(model, dict) else \
        enumerate(model) if isinstance(model, (list, tuple)) else ()
    for key, value in items:
        name = f'{prefix}.{key}'
        if key == 'init_cfg':
            inits = [(name, value)] if isinstance(value, dict) else \
                [(f'{name}.{i}', v) for i, v in enumerate(value or ())]
            for init_name, init in inits:
                if isinstance(init, dict) and str(init.get('type', '')).split('.')[-1] in PRETRAINED_INITS:
                    yield init_name, init
        else:
            yield from pretrained_inits(value, name)


def apply_pretrained(cfg: Config, declared=None) -> List[str]:
    """Give a config's top-level ``pretrained`` to the model's checkpoint-loading init_cfgs.

    Our configs declare ``pretrained = None`` and write it into ``init_cfg=dict(type='Pretrained',
    checkpoint=pretrained, ...)``; mmengine substitutes the variable when the file is parsed, so
    neither ``--cfg-options pretrained=PATH`` nor ``pretrained = PATH`` in a config that inherits
    ours changes the init_cfg by itself. Here every such init_cfg of ``cfg.model`` whose
    ``checkpoint`` is unset, or is the value the file itself declared, takes ``cfg.pretrained``;
    one set to another file keeps it (an explicit ``model.*.init_cfg.checkpoint`` wins). Nothing
    changes while ``pretrained`` is None.

    Args:
        cfg: The config, with the command line's options merged.
        declared: ``cfg.pretrained`` as the file declared it, before ``--cfg-options``.

    Returns:
        The keys set, e.g. ``['model.backbone.init_cfg.checkpoint']`` (also logged).

    Raises:
        ValueError: ``pretrained`` is set but no init_cfg of the model takes it: none loads a
            checkpoint (e.g. a classifier trained from scratch: use ``load_from``), or each names
            another file. The message names the keys.
    """
    path = cfg.get('pretrained')
    if path is None:
        return []
    inits = list(pretrained_inits(cfg.get('model') or {}))
    keys = []
    for name, init in inits:
        if init.get('checkpoint') in (None, declared) and init.get('checkpoint') != path:
            init['checkpoint'] = path
            keys.append(f'{name}.checkpoint')
    if not any(init.get('checkpoint') == path for _, init in inits):
        others = ', '.join(f'{name}.checkpoint={init.get("checkpoint")!r}' for name, init in inits)
        raise ValueError(
            f'pretrained={path!r} is set, but no init_cfg of the model takes it ('
            + (f'each names its own file: {others}' if inits else
               f'none loads a checkpoint: no type in {PRETRAINED_INITS}')
            + f"): set model.backbone.init_cfg=dict(type='Pretrained', checkpoint={path!r}), or "
            f'load_from={path!r} for a whole-model checkpoint')
    if keys:
        print_log(f'pretrained={path!r} -> ' + ', '.join(keys), logger='current')
    return keys


def waive_required_pretrained(cfg: Config) -> None:
    """``required=False`` in each init_cfg without a checkpoint: weights come from ``load_from``
    (a whole model, or the run resumed), loaded over the initialisation, so a fine-tuning config
    needs no ImageNet checkpoint then."""
    waived = []
    for name, init in pretrained_inits(cfg.get('model') or {}):
        if init.get('required') and not init.get('checkpoint'):
            init['required'] = False
            waived.append(name)
    if waived:
        print_log(f'load_from={cfg.load_from!r}: no ImageNet checkpoint needed for '
                  + ', '.join(waived), logger='current')


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
