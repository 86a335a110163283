"""``x + dwconv(x)`` on a channels-last map: RMT's conditional position encoding (``x + pos(x)``)
and the conv residual inside its FFN (``g + dwconv(g)``).

Fast path (only while :func:`fast_path_enabled`): the identity goes into the kernel, whose centre
tap becomes ``w + 1``, so one depth-wise conv replaces the conv and an add over the whole map, in the
forward and in the backward (the conv's input gradient then carries the identity's). The weight's
gradient is unchanged (``w + 1`` has derivative 1 in ``w``). It runs where the conv computes in the
input's dtype (float32/float64, no autocast to a lower precision), so that ``w + 1`` is not rounded to
fp16/bf16. The reference is the conv and the add.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.torch_compat import autocast_state
from .switch import fast_path_enabled


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    padding = weight.shape[-1] // 2
    out = F.conv2d(x.permute(0, 3, 1, 2), weight, bias, 1, padding, 1, weight.shape[0])
    return out.permute(0, 2, 3, 1)


def _foldable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (fast_path_enabled() and x.dtype == weight.dtype
            and x.dtype in (torch.float32, torch.float64)
            and not autocast_state(x.device.type)[0])


def dwconv_residual(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``x + conv(x)`` for a depth-wise ``k x k`` conv (stride 1, padding k // 2).

    Args:
        x: Channels-last map (N, H, W, C).
        conv: ``nn.Conv2d(C, C, k, padding=k // 2, groups=C)``, k odd. The reference calls the
            module (so module hooks and FLOP scopes see it); the fast path calls ``F.conv2d``
            with its parameters.

    Shape:
        (N, H, W, C) -> (N, H, W, C).

    Raises:
        ValueError: ``conv`` is not such a conv for the C channels of ``x``.
    """
    c, k = x.shape[-1], conv.kernel_size[0]
    if (conv.groups != c or conv.in_channels != c or conv.out_channels != c or k % 2 == 0
            or conv.kernel_size != (k, k) or conv.stride != (1, 1) or conv.padding != (k // 2,) * 2
            or conv.dilation != (1, 1) or conv.padding_mode != 'zeros'):
        raise ValueError(f'conv must be a depth-wise k x k conv, k odd, stride 1, padding k // 2, '
                         f'on the {c} channels of x; got {conv}')
    if not _foldable(x, conv.weight):
        return x + conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return _identity_in_kernel(x, conv.weight, conv.bias)


def folded_dwconv_residual(x: torch.Tensor, weight: torch.Tensor,
                           bias: Optional[torch.Tensor]) -> torch.Tensor:
    """:func:`dwconv_residual` from the kernel (C, 1, k, k) and bias, unchecked: the identity folded
    where :func:`_foldable`, else the conv and the add."""
    if not _foldable(x, weight):
        return x + _conv(x, weight, bias)
    return _identity_in_kernel(x, weight, bias)


def _identity_in_kernel(x: torch.Tensor, weight: torch.Tensor,
                        bias: Optional[torch.Tensor]) -> torch.Tensor:
    k = weight.shape[-1]
    centre = torch.zeros(k * k, dtype=weight.dtype, device=weight.device)
    centre[k * k // 2] = 1
    return _conv(x, weight + centre.view(1, 1, k, k), bias)
