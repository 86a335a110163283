"""``x + dwconv(x)`` on a channels-last map: RMT's conditional position encoding (``x + pos(x)``)
and the conv residual inside its FFN (``g + dwconv(g)``).

The fast form puts the identity into the kernel, whose centre tap becomes ``w + 1``, so one
depth-wise conv replaces the conv and an add over the whole map, in the forward and in the
backward (the conv's input gradient then carries the identity's). The weight's gradient is
unchanged (``w + 1`` has derivative 1 in ``w``). It needs the conv to compute in the input's dtype
(float32/float64, no autocast to a lower precision), so that ``w + 1`` is not rounded to fp16/bf16.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ...utils.torch_compat import autocast_state


def check_dwconv(x: torch.Tensor, conv: nn.Conv2d) -> None:
    """Raises:
        ValueError: ``conv`` is not a depth-wise ``k x k`` conv (k odd, stride 1, padding k // 2,
            zero padding) on the C channels of ``x`` (N, H, W, C).
    """
    c, k = x.shape[-1], conv.kernel_size[0]
    if (conv.groups != c or conv.in_channels != c or conv.out_channels != c or k % 2 == 0
            or conv.kernel_size != (k, k) or conv.stride != (1, 1) or conv.padding != (k // 2,) * 2
            or conv.dilation != (1, 1) or conv.padding_mode != 'zeros'):
        raise ValueError(f'conv must be a depth-wise k x k conv, k odd, stride 1, padding k // 2, '
                         f'on the {c} channels of x; got {conv}')


def conv_channels_last(x: torch.Tensor, weight: torch.Tensor,
                       bias: Optional[torch.Tensor]) -> torch.Tensor:
    """The depth-wise conv (C, 1, k, k) of a channels-last map (N, H, W, C), padding k // 2."""
    out = F.conv2d(x.permute(0, 3, 1, 2), weight, bias, 1, weight.shape[-1] // 2, 1,
                   weight.shape[0])
    return out.permute(0, 2, 3, 1)


def identity_in_kernel(x: torch.Tensor, weight: torch.Tensor,
                       bias: Optional[torch.Tensor]) -> torch.Tensor:
    """``x + conv(x)`` as one conv whose centre tap carries the identity."""
    k = weight.shape[-1]
    # Built on the weight's device: writing a Python scalar into it would be a host-to-device copy.
    centre = (torch.arange(k * k, device=weight.device) == k * k // 2).to(weight.dtype)
    return conv_channels_last(x, weight + centre.view(1, 1, k, k), bias)


def foldable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """float32/float64 ``x`` of the weight's dtype, no autocast: ``w + 1`` stays exact."""
    return (x.dtype == weight.dtype and x.dtype in (torch.float32, torch.float64)
            and not autocast_state(x.device.type)[0])


def dwconv_residual_reference(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``x + conv(x)``, the module called on the (N, C, H, W) view."""
    return x + conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def dwconv_residual_folded(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """:func:`identity_in_kernel` with the module's parameters."""
    return identity_in_kernel(x, conv.weight, conv.bias)


def dwconv_residual_folded_runs(x: torch.Tensor, conv: nn.Conv2d) -> bool:
    """:func:`foldable` for the conv's weight."""
    return foldable(x, conv.weight)


def dwconv_residual_example(dtype: torch.dtype) -> tuple:
    """x (2, 7, 9, 6), a depth-wise 3x3 conv on its 6 channels."""
    x = torch.randn(2, 7, 9, 6, generator=torch.Generator().manual_seed(0), dtype=dtype,
                    requires_grad=True)
    return x, nn.Conv2d(6, 6, 3, 1, 1, groups=6).to(dtype)
