"""``Up`` of EMSAv2: the reduced token map back to the input's size (ResTv2 eq. 2, Table 2b).

Shared by EMSAv2 (on V, K or x') and the PVT variant of appendix A (on V).
"""
from typing import Optional, Tuple

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


def build_upsample(embed_dims: int, sr_ratio: int, up_mode: str) -> Optional[nn.Module]:
    """The learnable part of ``Up``: for ``'pixel_shuffle'`` a depth-wise 3x3 conv from C to
    r*r*C and PixelShuffle(r) (official ``up.0``, ``up.1``); None for ``'nearest'`` and
    ``'bilinear'``, which Table 2b lists with the parameters and FLOPs of no upsampling at all.

    Raises:
        ValueError: unknown ``up_mode``.
    """
    check_up_mode(up_mode)
    if up_mode != 'pixel_shuffle':
        return None
    return nn.Sequential(
        nn.Conv2d(embed_dims, sr_ratio * sr_ratio * embed_dims, kernel_size=3, padding=1,
                  groups=embed_dims),
        nn.PixelShuffle(sr_ratio))


def upsample(tokens: torch.Tensor, reduced_shape: Tuple[int, int], hw_shape: Tuple[int, int],
             sr_ratio: int, up: Optional[nn.Module], up_mode: str) -> torch.Tensor:
    """``Up(tokens)`` cropped to ``hw_shape``.

    The tokens' channels stay head-major (c = head * d + j), as in the official code. Tokens
    that are a slice of the ``kv`` output are already a channels-last map in memory, so the conv,
    PixelShuffle and the way back to tokens need no NCHW copies on the fast path (PixelShuffle is
    5x faster so; :func:`restv2_mm.ops.channels_last`).
    A map of r * ceil(H/r) rows is cropped back to H (exactly the official result where r
    divides H and W).

    Args:
        tokens: (N, hk * wk, C), row-major.
        reduced_shape: (hk, wk).
        hw_shape: (H, W) of the output.
        sr_ratio: r, the scale factor.
        up: :func:`build_upsample`'s module (``'pixel_shuffle'``), else None.
        up_mode: One of :data:`UP_MODES`.

    Returns:
        (N, H * W, C).
    """
    n, _, c = tokens.shape
    x = channels_last(tokens.transpose(1, 2).reshape(n, c, *reduced_shape))
    if up is not None:
        x = up(x)
    elif sr_ratio > 1:
        x = F.interpolate(x, scale_factor=sr_ratio, mode=up_mode,
                          align_corners=False if up_mode == 'bilinear' else None)
    h, w = hw_shape
    # Always cropped (a view where nothing is cut): no shape-dependent branch, so traced and
    # exported graphs stay valid at every size.
    return to_tokens(x[:, :, :h, :w])[0]
