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
import logging
import os
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple, Type

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import BaseInit
from torch import nn

from ...utils import read_checkpoint

WEIGHTS = ('model', 'ema')
# Set to 1 to load checkpoint tensors that hold NaN/Inf (refused by default).
ALLOW_NON_FINITE_ENV = 'RESTV2_ALLOW_NON_FINITE'


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


def _stage_of(module: nn.Module, key: str) -> str:
    """'stem', 'stage i' or 'other' for a backbone key (``module._param_position``, which reads
    names alone, so a key the model lacks gets its stage too)."""
    position = getattr(module, '_param_position', None)
    try:
        found = position(key) if position is not None else None
    except (ValueError, IndexError):
        found = None
    if found is None:
        return 'other'
    return 'stem' if found[0] == 0 else f'stage {found[0]}'


def _by_stage(module: nn.Module, keys: List[str], shown: int = 4) -> List[str]:
    """``keys`` grouped by stage, the first ``shown`` of each group named."""
    groups: Dict[str, List[str]] = OrderedDict()
    for key in keys:
        groups.setdefault(_stage_of(module, key), []).append(key)
    lines = []
    for stage, names in groups.items():
        more = f' (+{len(names) - shown} more)' if len(names) > shown else ''
        lines.append(f'{stage}: {len(names)}: {", ".join(names[:shown])}{more}')
    return lines


def _matches(patterns: Dict[str, str], key: str) -> Optional[str]:
    return next((p for p in patterns if re.match(p, key)), None)


def _depths_hint(module: nn.Module, state: dict) -> str:
    """Which ``arch`` of the module's ``arch_zoo`` has the checkpoint's blocks per stage."""
    position = getattr(module, '_param_position', None)
    zoo = getattr(module, 'arch_zoo', None)
    if position is None or not zoo:
        return ''
    depths = [0] * getattr(module, 'num_stages', 4)
    for key in state:
        try:
            found = position(key)
        except (ValueError, IndexError):
            continue
        if found and isinstance(found[1], int) and 1 <= found[0] <= len(depths):
            depths[found[0] - 1] = max(depths[found[0] - 1], found[1] + 1)
    if not all(depths):
        return ''
    names = {}  # one name per setting: the longest alias ('small', not 's')
    for key, settings in zoo.items():
        if list(settings.get('depths', ())) == depths:
            names[id(settings)] = max(names.get(id(settings), ''), key, key=len)
    if not names:
        return (f'the checkpoint has {depths} blocks per stage, which no arch of '
                f'{type(module).__name__} has')
    return f'the checkpoint has {depths} blocks per stage: ' + ' or '.join(
        f'arch={name!r}' for name in sorted(names.values()))


def fit_state_dict(module: nn.Module, state: dict, path: str, strict: bool = True
                   ) -> 'OrderedDict[str, torch.Tensor]':
    """The part of ``state`` (already in ``module``'s names) to load into ``module``.

    Beyond ``module``'s own keys a checkpoint may hold the family's documented extras
    (``module.checkpoint_ignored``: regular expression -> reason, e.g. a classifier head) and may
    lack its documented optional keys (``module.checkpoint_optional``, e.g. the per-output norms an
    official classifier has not). Anything else (a deeper or shallower arch, another family, a
    tensor of another shape) is a mismatch.

    Args:
        module: The module to load into.
        state: Checkpoint tensors in ``module``'s names.
        path: The checkpoint file, for messages.
        strict: Raise on a mismatch (default). False: keep what fits (same key and shape) and log,
            per stage, what was loaded and what stays at initialisation.

    Raises:
        RuntimeError: no key of ``state`` fits ``module``; or ``strict`` and a mismatch. The message
            names the file, the model and its arch, the first mismatching keys grouped by stage,
            the arch whose depths the checkpoint has, and ``strict=False``.
    """
    own = module.state_dict()
    ignored_patterns = getattr(module, 'checkpoint_ignored', {})
    optional_patterns = getattr(module, 'checkpoint_optional', {})
    name = type(module).__name__
    arch = getattr(module, 'arch', None)
    model = f'{name} (arch={arch!r})' if arch is not None else name
    documented = [k for k in state if k not in own and _matches(ignored_patterns, k)]
    unexpected = [k for k in state if k not in own and k not in documented]
    shapes = [k for k in state if k in own and state[k].shape != own[k].shape]
    missing = [k for k in own if k not in state and not _matches(optional_patterns, k)]
    fits = OrderedDict((k, v) for k, v in state.items() if k in own and k not in shapes)
    if not fits and not (strict and shapes):
        raise RuntimeError(f'no key of checkpoint {path!r} fits {model} '
                           f'(first keys: {list(state)[:3]}; model keys: {list(own)[:3]})')
    if documented:
        reasons = sorted({ignored_patterns[_matches(ignored_patterns, k)] for k in documented})
        print_log(f'{len(documented)} checkpoint tensors are not part of {name} and are skipped: '
                  + '; '.join(reasons), logger='current')
    if not (unexpected or shapes or missing):
        return fits
    lines = []
    if shapes:
        counts = ', '.join(g.split(': ')[0] + ': ' + g.split(': ')[1] for g in _by_stage(module, shapes))
        lines += [f'shape mismatches ({len(shapes)}; {counts}):'] + [
            f'  {k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
            for k in shapes[:8]] + ([f'  ... (+{len(shapes) - 8} more)'] if len(shapes) > 8 else [])
    if unexpected:
        lines += [f'in the checkpoint, not in the model ({len(unexpected)}):'] + [
            '  ' + g for g in _by_stage(module, unexpected)]
    if missing:
        lines += [f'in the model, not in the checkpoint ({len(missing)}):'] + [
            '  ' + g for g in _by_stage(module, missing)]
    if strict:
        hint = _depths_hint(module, state)
        raise RuntimeError(
            f'checkpoint {path!r} does not fit {model} (another arch?):\n' + '\n'.join(lines)
            + f'\nUse the arch the checkpoint was trained with{" (" + hint + ")" if hint else ""}'
            + (f', or add strict=False to init_cfg to load the {len(fits)} tensors that fit and '
               'leave the rest at initialisation.' if fits else '; no tensor of it fits.'))
    summary = OrderedDict()
    for k in own:
        counts = summary.setdefault(_stage_of(module, k), [0, 0])
        counts[0 if k in fits else 1] += 1
    print_log(f'strict=False: checkpoint {path!r} partly fits {model}:\n' + '\n'.join(lines)
              + '\nper stage (loaded / left at init): ' + ', '.join(
                  f'{stage} {a}/{b}' for stage, (a, b) in summary.items()),
              logger='current', level=logging.WARNING)
    return fits


def non_finite_tensors(state: dict) -> 'OrderedDict[str, Tuple[int, int]]':
    """The floating-point tensors of ``state`` that hold NaN or Inf: name -> (NaN count, Inf count)."""
    found = OrderedDict()
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and \
                not bool(torch.isfinite(value).all()):
            found[key] = (int(torch.isnan(value).sum()), int(torch.isinf(value).sum()))
    return found


def allow_non_finite(option: Optional[bool] = None) -> bool:
    """Whether non-finite checkpoint weights load: ``option`` (``init_cfg`` ``allow_non_finite``)
    where given, else ``$RESTV2_ALLOW_NON_FINITE=1`` (for every loader, the tools' too)."""
    if option is not None:
        if not isinstance(option, bool):
            raise TypeError(f'allow_non_finite must be True or False, got {option!r}')
        return option
    return os.environ.get(ALLOW_NON_FINITE_ENV, '0') == '1'


def check_finite(state: dict, path: str, target: str, group: Callable[[List[str]], List[str]],
                 allow: Optional[bool] = None) -> None:
    """Refuse checkpoint tensors that hold NaN or Inf (a run that diverged before it was saved):
    loaded, they make every output NaN.

    Args:
        state: The tensors about to be loaded.
        path: The checkpoint file, for the message.
        target: What they load into, for the message (e.g. ``"ResTv2 (arch='tiny')"``).
        group: Lines of a list of keys grouped by stage (``'stage 2: 3: a, b, c'``).
        allow: See :func:`allow_non_finite`.

    Raises:
        ValueError: the count of such tensors, and per stage their count and first names with
            each one's NaN and Inf counts; how to load the file anyway.
    """
    bad = non_finite_tensors(state)
    if not bad or allow_non_finite(allow):
        return
    named = ', '.join(f'{k} ({nan} NaN, {inf} Inf)' for k, (nan, inf) in list(bad.items())[:4])
    raise ValueError(
        f'checkpoint {path!r} holds NaN/Inf in {len(bad)} of the {len(state)} tensors that would '
        f'load into {target}, which would then compute NaN:\n' + '\n'.join(
            '  ' + line for line in group(list(bad))) + f'\nfirst: {named}.\nUse an earlier '
        'checkpoint of the run (weights turn NaN/Inf where training diverged); to load it anyway, '
        f'set allow_non_finite=True in init_cfg or {ALLOW_NON_FINITE_ENV}=1.')


def load_pretrained(module: nn.Module, path: str, prefix: Optional[str] = None,
                    weights: str = 'model',
                    convert: Optional[Callable[[dict], dict]] = None,
                    strict: bool = True,
                    allow_non_finite: Optional[bool] = None) -> Dict[str, list]:
    """Load a checkpoint into ``module``; a checkpoint that does not fit is an error
    (:func:`fit_state_dict`).

    Args:
        module: The module (a backbone, a head, ...).
        path: Checkpoint file.
        prefix: Keep only keys under this prefix, stripped (e.g. ``'backbone.'``, ``'head.'``).
            None: ``'backbone.'`` where the checkpoint has such keys (an OpenMMLab model), else all.
        weights: ``'model'`` (raw, default) or ``'ema'``; see :func:`unwrap_state_dict`.
        convert: Maps the (prefix-stripped) state dict to ``module``'s keys, e.g. an official
            release's names to ours. Default: ``module.convert_state_dict`` where it has one.
        strict: Raise where the checkpoint does not fit (default); False loads what fits and logs
            what stays at initialisation, per stage.
        allow_non_finite: Load tensors that hold NaN/Inf (default: refused, with either
            ``strict``; see :func:`check_finite`).

    Returns:
        dict: ``missing_keys`` (left at initialisation, documented optional keys included),
        ``unexpected_keys`` (skipped with ``strict=False``) and ``ignored_keys`` (the documented
        extras, skipped).

    Raises:
        FileNotFoundError, RuntimeError: see :func:`restv2_mm.utils.read_checkpoint`;
            RuntimeError also when the checkpoint does not fit (see :func:`fit_state_dict`).
        ValueError, TypeError: see :func:`unwrap_state_dict`; ``strict`` not a bool; NaN/Inf in
            the tensors that fit (:func:`check_finite`).
    """
    if not isinstance(strict, bool):
        raise TypeError(f'init_cfg strict must be True or False, got {strict!r}')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r} (init_cfg.checkpoint)')
    state = unwrap_state_dict(read_checkpoint(path), weights)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    convert = convert or getattr(module, 'convert_state_dict', None)
    if convert is not None:
        state = convert(state)
    fits = fit_state_dict(module, state, path, strict=strict)
    arch = getattr(module, 'arch', None)
    check_finite(fits, path, type(module).__name__ + (f' (arch={arch!r})' if arch else ''),
                 lambda keys: _by_stage(module, keys), allow_non_finite)
    result = module.load_state_dict(fits, strict=False)
    print_log(f'loaded {path} ({weights} weights{", prefix " + repr(prefix) if prefix else ""}) '
              f'into {type(module).__name__}: {len(fits)} tensors', logger='current')
    if result.missing_keys:
        print_log(f'left at initialisation: {result.missing_keys}', logger='current')
    ignored = getattr(module, 'checkpoint_ignored', {})
    skipped = [k for k in state if k not in fits]
    return dict(missing_keys=result.missing_keys,
                unexpected_keys=[k for k in skipped if not _matches(ignored, k)],
                ignored_keys=[k for k in skipped if _matches(ignored, k)])


def require_checkpoint(init_cfg: dict, owner: str) -> Optional[str]:
    """The checkpoint of a ``Pretrained``-style ``init_cfg``, or None to start from random.

    Raises:
        ValueError: ``required=True`` and no ``checkpoint`` set; the message names the settings.
    """
    path = init_cfg.get('checkpoint')
    if not path and init_cfg.get('required', False):
        raise ValueError(
            f'{owner}.init_cfg.checkpoint is not set, but this config fine-tunes a pretrained model '
            f"(init_cfg.required=True): give one with --cfg-options pretrained=PATH (restv2-mm's "
            f'tools/train.py) or {owner}.init_cfg.checkpoint=PATH (any OpenMMLab tool); to start '
            f'from random weights on purpose, set {owner}.init_cfg.required=False')
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
        strict (bool): Raise where the checkpoint's keys or shapes do not fit the module (default);
            False loads what fits (see :func:`fit_state_dict`).
        allow_non_finite (bool, optional): Load tensors that hold NaN/Inf (see :func:`check_finite`).

    Raises:
        ValueError: ``required`` and no checkpoint; see also :func:`load_pretrained`.
    """

    def __init__(self, checkpoint: Optional[str] = None, prefix: Optional[str] = None,
                 weights: str = 'model', required: bool = True, strict: bool = True,
                 allow_non_finite: Optional[bool] = None, **kwargs):
        super().__init__(**kwargs)
        if weights not in WEIGHTS:
            raise ValueError(f"weights must be 'model' (raw weights) or 'ema', got {weights!r}")
        self.cfg = dict(checkpoint=checkpoint, prefix=prefix, weights=weights, required=required,
                        strict=strict, allow_non_finite=allow_non_finite)

    def __call__(self, module: nn.Module) -> None:
        path = require_checkpoint(self.cfg, type(module).__name__)
        if path:
            load_pretrained(module, path, prefix=self.cfg['prefix'], weights=self.cfg['weights'],
                            strict=self.cfg['strict'], allow_non_finite=self.cfg['allow_non_finite'])
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
    heads = tuple(backbone.official_head_prefixes)
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.convert_state_dict(
        {k: v for k, v in state.items() if not k.startswith(heads)}).items())
    for old, new in backbone.official_head_prefixes.items():
        out.update((new + k[len(old):], v) for k, v in state.items() if k.startswith(old))
    return out
