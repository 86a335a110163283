"""Input checks of the backbones beyond type, rank and channels: the dtype (cast as the stock data
preprocessors cast) and the smallest size each layer that needs two values takes."""
import math
import warnings
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...utils.torch_compat import autocast_state


def match_input_dtype(module: nn.Module, args: tuple) -> Optional[tuple]:
    """Forward pre-hook: a float input whose dtype is not the weights' (a float16 batch into a
    float32 model, float64 into float32, ...) is cast to the weights' dtype, as the stock data
    preprocessors do: mmengine's ``ImgDataPreprocessor`` (the base of mmdet's
    ``DetDataPreprocessor``), mmseg's ``SegDataPreprocessor`` and mmpretrain's
    ``ClsDataPreprocessor`` cast every batch with ``.float()``. Warns once per module. Under
    autocast the input is left as it is (autocast chooses each op's dtype).

    Returns:
        The arguments with the cast input, or None (unchanged).
    """
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        return None  # check_input names what is wrong with it
    weight = next(module.parameters(), None)
    if weight is None or x.dtype == weight.dtype or autocast_state(x.device.type)[0]:
        return None
    if not getattr(module, '_warned_input_dtype', False):
        module._warned_input_dtype = True
        warnings.warn(
            f'{type(module).__name__} input x is {x.dtype} but the weights are {weight.dtype}: cast '
            f'to {weight.dtype}, as the mmdet/mmseg/mmpretrain data preprocessors cast every batch '
            'to float32; for half-precision compute use autocast (AMP) instead', stacklevel=2)
    return (x.to(weight.dtype), ) + tuple(args[1:])


class SizeRule(NamedTuple):
    """At ``stride``, ``layer`` needs at least 2 values: over the positions of one sample
    (``per_sample``) or over the whole batch."""
    stage: int
    stride: int
    per_sample: bool
    layer: str


def stage_stride(stage: int) -> int:
    """Output stride of stage ``stage`` (0: the stem, 4; stage i >= 1: ``4 * 2**(i - 1)``)."""
    return 4 * 2 ** max(stage - 1, 0)


def size_rules(backbone) -> List[SizeRule]:
    """The layers of ``backbone`` that fail on a single value, found in its stages
    (``backbone._stage_modules``), the deepest of each kind:

    - an ``InstanceNorm2d`` (ResTv1's multi-head interaction, ``mhim=True``) normalises each
      head's attention map over the stage's positions: it needs 2 positions per sample;
    - a BatchNorm in training mode (stems, patch embeddings, patch merging) needs 2 values per
      channel over the batch (SyncBN is left out: it counts the values of every process).

    Kept in ``backbone._size_rules`` until the next ``train()``/``eval()`` (the modes decide),
    since walking the modules costs about as much as a small layer.
    """
    cached = getattr(backbone, '_size_rules', None)
    if cached is not None:
        return cached
    deepest = {}
    for stage in range(backbone.num_stages + 1):
        for module in (m for top in backbone._stage_modules(stage) for m in top.modules()):
            if isinstance(module, nn.InstanceNorm2d):
                deepest['in'] = SizeRule(stage, stage_stride(stage), True,
                                         'its multi-head interaction (mhim) normalises each '
                                         "head's attention map over the positions (InstanceNorm)")
            elif isinstance(module, _BatchNorm) and module.training and \
                    not isinstance(module, nn.SyncBatchNorm) and 'Sync' not in type(module).__name__:
                deepest['bn'] = SizeRule(stage, stage_stride(stage), False,
                                         'a BatchNorm in training mode normalises over the batch '
                                         'and the positions')
    backbone._size_rules = list(deepest.values())
    return backbone._size_rules


def check_input_size(backbone, shape: Tuple[int, int, int, int]) -> None:
    """Raise where an input of ``shape`` (N, C, H, W) leaves a layer of :func:`size_rules` a single
    value, rather than let torch fail deep inside ("Expected more than 1 spatial element").

    Stage i's map is ``ceil(H / stride) x ceil(W / stride)`` (every stride-2 step pads).

    Raises:
        ValueError: names the input size, the stage and its stride, the layer, and the smallest
            inputs that work.
    """
    n, _, h, w = shape
    name = type(backbone).__name__
    for rule in size_rules(backbone):
        ph, pw = math.ceil(h / rule.stride), math.ceil(w / rule.stride)
        if (1 if rule.per_sample else n) * ph * pw >= 2:
            continue
        s = rule.stride
        where = 'stem' if rule.stage == 0 else f'stage {rule.stage}'
        fix = (f'an input with H or W > {s} (e.g. {s + 1}x{s + 1})' if rule.per_sample else
               f'a batch of N >= 2, an input with H or W > {s}, or BatchNorms in eval mode '
               '(norm_eval=True, or model.eval())')
        raise ValueError(
            f'{name} input x of {h}x{w} is too small: the {where} (stride {s}) gets a {ph}x{pw} map '
            f'and {rule.layer}, which needs at least 2 values; use {fix}; got shape {tuple(shape)}')


def _pvt_misfit(pvt, size: int, dim: int) -> Optional[str]:
    """None where an input side of ``size`` pixels passes every patch embedding and spatial
    reduction of mmdet's PVT along ``dim`` (0: H, 1: W); else the layer it does not pass. With the
    upsampling branch (``up_target='v'``) each reduced map must also cover its stage's map again
    after upsampling: the stage's side a multiple of its ``sr_ratio``."""
    upsampled = getattr(pvt, 'up_target', 'none') != 'none'
    for i, (layer, sr) in enumerate(zip(pvt.layers, pvt.sr_ratios)):
        conv = layer[0].projection
        k, s, p = conv.kernel_size[dim], conv.stride[dim], conv.padding[dim]
        if size + 2 * p < k:
            return f'the patch embedding of stage {i + 1} (kernel {k})'
        size = (size + 2 * p - k) // s + 1
        if sr > 1 and size < sr:
            return f'the spatial reduction of stage {i + 1} (sr_ratio {sr}, kernel {sr})'
        if sr > 1 and upsampled and size % sr:
            return (f'the upsampling branch of stage {i + 1} (its {size} positions are not a '
                    f'multiple of sr_ratio {sr}, so the upsampled reduced map falls short)')
    return None


def check_pvt_input_size(pvt, shape: Tuple[int, ...]) -> None:
    """mmdet's PVT (and PVT-EMSAv2) convolves without padding, kernel = stride: each side must
    reach every kernel (H, W >= 32 for PVT-Tiny's ``sr_ratios`` (8, 4, 2, 1)); with PVT-EMSAv2's
    upsampling branch each stage's side must also be a multiple of its ``sr_ratio`` (H, W
    multiples of 32, e.g. mmdet's ``pad_size_divisor=32``).

    Raises:
        ValueError: names the input size, the layer that does not fit and the nearest sides that do.
    """
    if len(shape) != 4 or any(getattr(layer[0], 'adap_padding', None) is not None
                              for layer in pvt.layers):
        return  # PVT reports the rank itself; adaptive padding fits any size
    for dim, side in ((0, 'H'), (1, 'W')):
        size = shape[2 + dim]
        layer = _pvt_misfit(pvt, size, dim)
        if layer is None:
            continue
        above = next(s for s in range(size + 1, size + (1 << 12)) if _pvt_misfit(pvt, s, dim) is None)
        below = next((s for s in range(size - 1, 0, -1) if _pvt_misfit(pvt, s, dim) is None), None)
        nearest = f'the nearest {side} that fit are {below} and {above}' if below else \
            f'the smallest {side} that fits is {above}'
        raise ValueError(f'{type(pvt).__name__} input x of {shape[2]}x{shape[3]} does not fit: '
                         f'{layer} along {side}; {nearest}; got shape {tuple(shape)}')
