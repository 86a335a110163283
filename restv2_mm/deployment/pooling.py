"""Adaptive average pooling written so that one exported graph is exact at every input size.

``nn.AdaptiveAvgPool2d(k)`` (UPerHead's pyramid pooling: k = 1, 2, 3, 6) exports with gather
indices computed for the traced size, so an ONNX file runs wrongly or fails at another size. The
same bins as a product of two averaging matrices, ``P_h @ x @ P_w^T``, built from the input's
symbolic height and width, are exact at every size (up to float rounding of the sums).
"""
from typing import Tuple

import torch
from torch import nn


def adaptive_bins(size, bins: int, like: torch.Tensor) -> torch.Tensor:
    """The (bins, size) averaging matrix of adaptive pooling along one axis: row i averages
    positions ``floor(i * size / bins)`` to ``ceil((i + 1) * size / bins) - 1``, as
    ``torch.nn.functional.adaptive_avg_pool2d`` does (ATen ``AdaptiveAveragePooling.cpp``:
    ``start_index``/``end_index``).

    Args:
        size: The input length (an int, or a symbolic size while exporting).
        bins: The output length k.
        like: Gives the dtype and device.
    """
    index = torch.arange(bins, device=like.device)
    start = (index * size) // bins
    end = ((index + 1) * size + bins - 1) // bins
    position = torch.arange(size, device=like.device)
    inside = (position[None] >= start[:, None]) & (position[None] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


class ExactAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d(output_size)`` as two matrix products (see the module docstring).

    Shape:
        (N, C, H, W) -> (N, C, k_h, k_w), any H >= k_h, W >= k_w.
    """

    def __init__(self, output_size: Tuple[int, int]):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = adaptive_bins(x.shape[-2], self.output_size[0], x)
        cols = adaptive_bins(x.shape[-1], self.output_size[1], x)
        return rows @ x @ cols.transpose(0, 1)


def exact_pooling(module: nn.Module) -> nn.Module:
    """Replace, in place, every ``nn.AdaptiveAvgPool2d`` of ``module`` whose output is larger than
    1x1 by an :class:`ExactAdaptiveAvgPool2d` (global pooling exports exactly as it is).

    Returns:
        ``module``.

    Raises:
        ValueError: an adaptive pooling this cannot reproduce (max pooling to more than 1x1, or
            an output size of None: "keep the input's size"); names the module.
    """
    for name, child in list(module.named_modules()):
        if isinstance(child, nn.AdaptiveMaxPool2d) and child.output_size not in (1, (1, 1)):
            raise ValueError(f'{name}: adaptive max pooling to {child.output_size} has no '
                             f'size-independent export')
        if not isinstance(child, nn.AdaptiveAvgPool2d) or child.output_size in (1, (1, 1)):
            continue
        size = child.output_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if None in size:
            raise ValueError(f'{name}: adaptive pooling to {child.output_size} (None keeps the '
                             f'input size) is not supported by the export')
        parent, _, attr = name.rpartition('.')
        setattr(module.get_submodule(parent) if parent else module, attr,
                ExactAdaptiveAvgPool2d(size))
    return module
