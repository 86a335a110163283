"""Loading official ResTv2 (github.com/wofmanaf/ResT) and OpenMMLab checkpoints into ``ResTv2``."""
import os
import pickle
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from torch import nn


def read_checkpoint(path: str) -> dict:
    """Read a checkpoint file on the CPU.

    Tries torch's safe ``weights_only`` loader first; official and runner checkpoints also pickle
    non-tensor objects (argparse Namespaces, numpy scalars, message hubs), so it falls back to a
    full load of the file the user named.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file is not a readable torch checkpoint (truncated, another format).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r} (init_cfg.checkpoint)')
    try:
        try:
            return torch.load(path, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError:
            return torch.load(path, map_location='cpu', weights_only=False)
    except Exception as e:  # zipfile/EOF/pickle errors all mean the same thing to the user
        raise RuntimeError(f'{path!r} is not a readable torch checkpoint '
                           f'(truncated or another format): {type(e).__name__}: {e}') from e


def unwrap_state_dict(checkpoint: dict) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict inside a checkpoint (under ``state_dict`` or ``model``, or the checkpoint
    itself), with DataParallel's ``module.`` prefix removed.

    Raises:
        TypeError: ``checkpoint`` holds no state dict.
    """
    state = checkpoint
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint.get(key), dict):
                state = checkpoint[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError('checkpoint holds no state dict (expected a dict of tensors, or one under '
                        "'model' or 'state_dict')")
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def convert_official_state_dict(checkpoint: dict,
                                prefix: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Turn an official ResTv2 checkpoint (or an mmdet/mmseg/mmpretrain one) into backbone keys.

    The official release keeps the weights under ``model`` (or ``state_dict``), possibly prefixed
    ``module.``; its final ``norm`` becomes our ``norm3`` and the classifier ``head`` is dropped
    (see ``../shared/papers/README.md`` for the module names). OpenMMLab checkpoints keep the
    backbone under ``backbone.``: that prefix (or the given ``prefix``) is stripped and other keys
    are dropped.

    Args:
        checkpoint (dict): What ``torch.load`` returned.
        prefix (str, optional): Keep only keys under this prefix (e.g. ``'backbone.'``).

    Returns:
        OrderedDict: backbone state dict.

    Raises:
        TypeError: ``checkpoint`` holds no state dict.
    """
    state = unwrap_state_dict(checkpoint)
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    out = OrderedDict()
    dropped = [k for k in state if k.startswith('head.')]
    if dropped:
        print_log(f'classifier keys dropped (not part of the backbone): {dropped}', logger='current')
    for k, v in state.items():
        if k.startswith('head.'):
            continue
        if k.startswith('norm.'):
            k = 'norm3.' + k[len('norm.'):]
        out[k] = v
    return out


def load_pretrained(model: nn.Module, path: str, prefix: Optional[str] = None) -> Dict[str, list]:
    """Load a checkpoint into a ResTv2 backbone, logging missing and unexpected keys by name.

    Args:
        model (nn.Module): The backbone.
        path (str): Checkpoint file (official layout, converted, or an OpenMMLab model).
        prefix (str, optional): See :func:`convert_official_state_dict`.

    Returns:
        dict: ``missing_keys`` and ``unexpected_keys``.

    Raises:
        FileNotFoundError, RuntimeError: see :func:`read_checkpoint`; RuntimeError also when a
            tensor's shape differs from the model's (every such key listed with both shapes) or when
            no key matches the model at all.
    """
    state = convert_official_state_dict(read_checkpoint(path), prefix=prefix)
    own = model.state_dict()
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    if mismatched:
        raise RuntimeError(f'checkpoint {path!r} does not fit this {type(model).__name__} '
                           f'(another arch?); shape mismatches:\n  ' + '\n  '.join(mismatched))
    if not any(k in own for k in state):
        raise RuntimeError(f'no key of checkpoint {path!r} matches {type(model).__name__} '
                           f'(first keys: {list(state)[:3]})')
    result = model.load_state_dict(state, strict=False)
    print_log(f'loaded {path}: {len(state) - len(result.unexpected_keys)} tensors', logger='current')
    if result.missing_keys:
        print_log(f'missing keys (left at init): {result.missing_keys}', logger='current')
    if result.unexpected_keys:
        print_log(f'unexpected keys (ignored): {result.unexpected_keys}', logger='current')
    return dict(missing_keys=result.missing_keys, unexpected_keys=result.unexpected_keys)


def convert_official_classifier(checkpoint: dict) -> 'OrderedDict[str, torch.Tensor]':
    """An official ResTv2 ImageNet checkpoint as an mmpretrain ``ImageClassifier`` state dict.

    ``backbone.*`` from :func:`convert_official_state_dict` (``norm`` -> ``norm3``) and the official
    classifier ``head.{weight,bias}`` -> ``head.fc.{weight,bias}`` (``LinearClsHead``). The input
    size does not matter: PA positional encoding has no size, so 224 and 384 models share weights.

    Raises:
        TypeError: no state dict; ValueError: no ``head`` or already in mmpretrain layout.
    """
    state = unwrap_state_dict(checkpoint)
    if any(k.startswith('backbone.') for k in state):
        raise ValueError('checkpoint is already in the OpenMMLab layout (backbone.*): '
                         'no conversion needed')
    backbone = convert_official_state_dict(state)
    head = {k: v for k, v in state.items() if k.startswith('head.')}
    if not head:
        raise ValueError('checkpoint has no classifier head (head.weight, head.bias): '
                         'is it an official ImageNet checkpoint?')
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    for k, v in head.items():
        out['head.fc.' + k[len('head.'):]] = v
    return out
