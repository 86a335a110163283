"""Loading weights into our modules from official, OpenMMLab and converted checkpoints.

A checkpoint can hold two sets of weights, the raw (trained) ones and an exponential moving
average (EMA) of them:

==========================================  =============================  =========================
layout                                      raw weights (``'model'``)      EMA (``'ema'``)
==========================================  =============================  =========================
official release (github.com/wofmanaf/ResT)  ``model``                      ``model_ema``
mmengine runner with ``EMAHook``            ``ema_state_dict`` (keys       ``state_dict`` (EMAHook
                                            ``module.*``)                  swaps the EMA in on save)
mmengine runner without EMA, converted      ``state_dict``                 none
plain state dict                            the checkpoint itself          none
==========================================  =============================  =========================

The official chain fine-tunes at 384 from ``model`` (``main.py --model_key model|module``) and
starts COCO / ADE20K from the raw weights ("best model weights (instead of EMA weights)", ResTv2
appendix C.2): ``weights='model'``, the default here, takes the same weights.
"""
from collections import OrderedDict
from typing import Callable, Dict, Optional, Type

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import BaseInit
from torch import nn

from ...utils import read_checkpoint

WEIGHTS = ('model', 'ema')


def _strip(state: dict, prefix: str) -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v)
                       for k, v in state.items())


def unwrap_state_dict(checkpoint: dict, weights: str = 'model') -> 'OrderedDict[str, torch.Tensor]':
    """One set of weights of a checkpoint (see the module docstring for the layouts), with
    DataParallel's ``module.`` prefix removed.

    Args:
        checkpoint: What ``torch.load`` returned.
        weights: ``'model'`` (raw weights) or ``'ema'`` (the moving average).

    Raises:
        ValueError: unknown ``weights``, or ``'ema'`` asked of a checkpoint that has no EMA.
        TypeError: ``checkpoint`` holds no state dict.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be 'model' (raw weights) or 'ema', got {weights!r}")
    state = checkpoint
    if isinstance(checkpoint, dict):
        runner_ema = isinstance(checkpoint.get('ema_state_dict'), dict) and \
            isinstance(checkpoint.get('state_dict'), dict)
        if weights == 'ema':
            if runner_ema:
                state = checkpoint['state_dict']
            elif isinstance(checkpoint.get('model_ema'), dict):
                state = checkpoint['model_ema']
            else:
                raise ValueError("weights='ema', but the checkpoint holds no EMA weights (no "
                                 f"'model_ema' or 'ema_state_dict'; keys: {sorted(checkpoint)[:8]})")
        elif runner_ema:  # the raw weights sit in the EMA model's slot, under module.
            state = OrderedDict((k[len('module.'):], v)
                                for k, v in checkpoint['ema_state_dict'].items()
                                if k.startswith('module.'))
        else:
            for key in ('state_dict', 'model'):
                if isinstance(checkpoint.get(key), dict):
                    state = checkpoint[key]
                    break
    if not isinstance(state, dict) or not state or \
            not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError('checkpoint holds no state dict (expected a dict of tensors, or one under '
                        "'model', 'model_ema', 'state_dict' or 'ema_state_dict')")
    return _strip(state, 'module.')


def load_pretrained(module: nn.Module, path: str, prefix: Optional[str] = None,
                    weights: str = 'model',
                    convert: Optional[Callable[[dict], dict]] = None) -> Dict[str, list]:
    """Load a checkpoint into ``module``, logging missing and unexpected keys by name.

    Args:
        module: The module (a backbone, a head, ...).
        path: Checkpoint file.
        prefix: Keep only keys under this prefix, stripped (e.g. ``'backbone.'``, ``'head.'``).
            None: ``'backbone.'`` where the checkpoint has such keys (an OpenMMLab model), else all.
        weights: ``'model'`` (raw, default) or ``'ema'``; see :func:`unwrap_state_dict`.
        convert: Maps the (prefix-stripped) state dict to ``module``'s keys, e.g. an official
            release's names to ours. Default: ``module.convert_state_dict`` where it has one.

    Returns:
        dict: ``missing_keys`` and ``unexpected_keys``.

    Raises:
        FileNotFoundError, RuntimeError: see :func:`restv2_mm.utils.read_checkpoint`;
            RuntimeError also when a tensor's shape differs from the module's (every such key
            listed with both shapes) or when no key matches the module at all.
        ValueError, TypeError: see :func:`unwrap_state_dict`.
    """
    state = unwrap_state_dict(read_checkpoint(path), weights)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    convert = convert or getattr(module, 'convert_state_dict', None)
    if convert is not None:
        state = convert(state)
    own = module.state_dict()
    name = type(module).__name__
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    if mismatched:
        raise RuntimeError(f'checkpoint {path!r} does not fit this {name} '
                           f'(another arch?); shape mismatches:\n  ' + '\n  '.join(mismatched))
    if not any(k in own for k in state):
        raise RuntimeError(f'no key of checkpoint {path!r} matches {name} '
                           f'(prefix {prefix!r}; first keys: {list(state)[:3]})')
    result = module.load_state_dict(state, strict=False)
    print_log(f'loaded {path} ({weights} weights{", prefix " + repr(prefix) if prefix else ""}) '
              f'into {name}: {len(state) - len(result.unexpected_keys)} tensors', logger='current')
    if result.missing_keys:
        print_log(f'missing keys (left at init): {result.missing_keys}', logger='current')
    if result.unexpected_keys:
        print_log(f'unexpected keys (ignored): {result.unexpected_keys}', logger='current')
    return dict(missing_keys=result.missing_keys, unexpected_keys=result.unexpected_keys)


def require_checkpoint(init_cfg: dict, owner: str) -> Optional[str]:
    """The checkpoint of a ``Pretrained``-style ``init_cfg``, or None to start from random.

    Raises:
        ValueError: ``required=True`` and no ``checkpoint`` set; the message names the settings.
    """
    path = init_cfg.get('checkpoint')
    if not path and init_cfg.get('required', False):
        raise ValueError(
            f'{owner}.init_cfg.checkpoint is not set, but this config fine-tunes a pretrained model '
            f"(init_cfg.required=True): set `pretrained = 'PATH'` at the top of the config or "
            f'--cfg-options {owner}.init_cfg.checkpoint=PATH; to start from random weights on '
            f'purpose, set {owner}.init_cfg.required=False')
    return path


class PretrainedWeights(BaseInit):
    """Weight initializer (``init_cfg``) that loads part of a checkpoint into any module, choosing
    raw or EMA weights: what the classifier head of the 384 fine-tuning configs uses.

    Example::

        head=dict(type='LinearClsHead', ..., init_cfg=dict(
            type='PretrainedWeights', checkpoint=pretrained, prefix='head.', weights='model'))

    Args:
        checkpoint (str): Checkpoint file (an OpenMMLab / converted one).
        prefix (str, optional): Keys under this prefix, stripped, are loaded.
        weights (str): ``'model'`` (raw, default) or ``'ema'``.
        required (bool): Raise where ``checkpoint`` is None. Default: True.

    Raises:
        ValueError: ``required`` and no checkpoint; see also :func:`load_pretrained`.
    """

    def __init__(self, checkpoint: Optional[str] = None, prefix: Optional[str] = None,
                 weights: str = 'model', required: bool = True, **kwargs):
        super().__init__(**kwargs)
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be 'model' (raw weights) or 'ema', got {weights!r}")
        self.cfg = dict(checkpoint=checkpoint, prefix=prefix, weights=weights, required=required)

    def __call__(self, module: nn.Module) -> None:
        path = require_checkpoint(self.cfg, type(module).__name__)
        if path:
            load_pretrained(module, path, prefix=self.cfg['prefix'], weights=self.cfg['weights'])
        else:
            print_log(f'{type(module).__name__}: no checkpoint, left at its initialisation',
                      logger='current')

    def _get_init_info(self) -> str:
        return f'{type(self).__name__}: {self.cfg}'


def convert_official_classifier(checkpoint: dict, backbone: Type[nn.Module],
                                weights: str = 'model') -> 'OrderedDict[str, torch.Tensor]':
    """An official ImageNet checkpoint as an mmpretrain ``ImageClassifier`` state dict.

    ``backbone.*`` from ``backbone.convert_state_dict`` (the family's official names to ours) and
    the classifier keys renamed by ``backbone.official_head_prefixes``: ResTv2's
    ``head.{weight,bias}`` -> ``head.fc.*`` (``LinearClsHead``); RMT's also ``proj.*``/``norm.*``
    -> ``neck.proj.*``/``neck.norm.*`` (``RMTClsNeck``). ResTv2's PA and RMT's decay and rotary
    position have no size, so 224 and 384 models share weights.

    Args:
        checkpoint: What ``torch.load`` returned.
        backbone: The backbone class (its ``convert_state_dict`` maps the keys).
        weights: ``'model'`` (raw, default) or ``'ema'``.

    Raises:
        TypeError: no state dict; ValueError: no ``head``, already in the OpenMMLab layout, or
            no EMA weights where ``weights='ema'``.
    """
    state = unwrap_state_dict(checkpoint, weights)
    if any(k.startswith('backbone.') for k in state):
        raise ValueError('checkpoint is already in the OpenMMLab layout (backbone.*): '
                         'no conversion needed')
    if not any(k.startswith('head.') for k in state):
        raise ValueError('checkpoint has no classifier head (head.weight, head.bias): '
                         'is it an official ImageNet checkpoint?')
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.convert_state_dict(state).items())
    for old, new in backbone.official_head_prefixes.items():
        out.update((new + k[len(old):], v) for k, v in state.items() if k.startswith(old))
    return out
