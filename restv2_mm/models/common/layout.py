"""Conversions between feature maps (N, C, H, W) and token sequences (N, H*W, C)."""
from typing import Tuple

import torch


def to_tokens(x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """(N, C, H, W) -> tokens (N, H*W, C) in row-major order, and (H, W).

    A view for channels-last maps (what the convs after a stage produce), one copy otherwise.
    """
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n, h * w, c), (h, w)


def to_map(x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
    """Tokens (N, H*W, C) -> (N, C, H, W) (a channels-last view, no copy)."""
    return x.transpose(1, 2).reshape(x.shape[0], -1, *hw_shape)
