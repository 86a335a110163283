"""``Up`` of EMSAv2: the reduced token map back to the input's size (ResTv2 eq. 2, Table 2b).

Shared by EMSAv2 (on V; on K or x' in Table 2a's ablations) and the PVT variant of appendix A.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ...ops import channels_last
from .layout import to_tokens

UP_MODES = ('pixel_shuffle', 'nearest', 'bilinear')


def check_up_mode(up_mode: str) -> None:
    """Raises: ValueError naming ``up_mode`` and the allowed values."""
    if up_mode not in UP_MODES:
        raise ValueError(f'up_mode must be one of {UP_MODES} (ResTv2 Table 2b), got {up_mode!r}')


class PixelShuffleUp(nn.Sequential):
    """EMSAv2's ``Up``: a depth-wise 3x3 conv from C to r*r*C, then PixelShuffle(r) (official
    ``up.0``, ``up.1``).

    Args:
        embed_dims (int): Channels C.
        sr_ratio (int): The scale factor r.

    Shape:
        (N, C, h, w) -> (N, C, r*h, r*w).
    """

    def __init__(self, embed_dims: int, sr_ratio: int):
        super().__init__(
            nn.Conv2d(embed_dims, sr_ratio * sr_ratio * embed_dims, kernel_size=3, padding=1,
                      groups=embed_dims),
            nn.PixelShuffle(sr_ratio))


class InterpolateUp(nn.Module):
    """Table 2b's parameter-free ``Up``: nearest or bilinear interpolation by r (nothing at r = 1).

    Args:
        sr_ratio (int): The scale factor r.
        mode (str): ``'nearest'`` or ``'bilinear'``.

    Shape:
        (N, C, h, w) -> (N, C, r*h, r*w).
    """

    def __init__(self, sr_ratio: int, mode: str):
        super().__init__()
        self.sr_ratio, self.mode = sr_ratio, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.sr_ratio == 1:
            return x
        return F.interpolate(x, scale_factor=self.sr_ratio, mode=self.mode,
                             align_corners=False if self.mode == 'bilinear' else None)


def build_upsample(embed_dims: int, sr_ratio: int, up_mode: str) -> nn.Module:
    """``Up`` for ``up_mode``: :class:`PixelShuffleUp` (``'pixel_shuffle'``) or
    :class:`InterpolateUp` (``'nearest'``, ``'bilinear'``).

    Raises:
        ValueError: unknown ``up_mode``.
    """
    check_up_mode(up_mode)
    if up_mode == 'pixel_shuffle':
        return PixelShuffleUp(embed_dims, sr_ratio)
    return InterpolateUp(sr_ratio, up_mode)


def upsample(tokens: torch.Tensor, reduced_shape: Tuple[int, int], hw_shape: Tuple[int, int],
             up: nn.Module) -> torch.Tensor:
    """``Up(tokens)`` cropped to ``hw_shape``.

    The tokens' channels stay head-major (c = head * d + j), as in the official code. Tokens that
    are a slice of the ``kv`` output are already a channels-last map in memory, so with
    :func:`restv2_mm.ops.channels_last` the conv, PixelShuffle and the way back to tokens need no
    NCHW copies. A map of r * ceil(H/r) rows is cropped back to H (exactly the official result
    where r divides H and W).

    Args:
        tokens: (N, hk * wk, C), row-major.
        reduced_shape: (hk, wk).
        hw_shape: (H, W) of the output.
        up: The ``Up`` module (:func:`build_upsample`).

    Returns:
        (N, H * W, C).
    """
    n, _, c = tokens.shape
    x = up(channels_last(tokens.transpose(1, 2).reshape(n, c, *reduced_shape)))
    h, w = hw_shape
    # Always cropped (a view where nothing is cut): no shape-dependent branch, so traced and
    # exported graphs stay valid at every size.
    return to_tokens(x[:, :, :h, :w])[0]
