"""Positional embeddings of ResTv2's appendix E (Table 2d): PA, PEG, APE and the RPE of EMSAv2.

PA, PEG and APE sit in the ``pos`` slot of the stem and of every patch embedding (after the conv,
before the LayerNorm); RPE lives in the attention (``attn.rel_pos_h``/``rel_pos_w``), so the
embeddings have no ``pos`` with it. PA and PEG have no size of their own; APE and RPE are sized for
the pre-training input and resized at other sizes.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_
from torch import nn

POS_EMBEDS = ('pa', 'peg', 'ape', 'rpe', 'none')


def _depthwise3x3(dims: int) -> nn.Conv2d:
    return nn.Conv2d(dims, dims, kernel_size=3, padding=1, groups=dims)


class PA(nn.Module):
    """Pixel-wise attention: ``x * sigmoid(DWConv3x3(x))`` (ResTv2 appendix E, eq. 3).

    It encodes absolute position through the zero padding of the depth-wise conv, so it has no
    size of its own and works for any H, W. Official name of the conv: ``pa_conv``.

    Args:
        dims (int): Channels C of the input.

    Shape:
        (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, dims: int):
        super().__init__()
        self.pa_conv = _depthwise3x3(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.pa_conv(x))


class PEG(nn.Module):
    """Positional encoding generator: ``x + DWConv3x3(x)`` (CPVT; ResTv2 appendix E, eq. 4), with
    PA's arguments and shapes. The conv is named ``gl_conv`` after ResTv1's ``GL`` module
    (models/rest.py), the same layer."""

    def __init__(self, dims: int):
        super().__init__()
        self.gl_conv = _depthwise3x3(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gl_conv(x)


class APE(nn.Module):
    """Learnable absolute positional embedding ``x + theta`` (ViT; ResTv2 appendix E, eq. 1).

    ``theta`` (``pos_embed``, (1, C, H0, W0)) has the size of the map at the pre-training input
    (56^2, 28^2, 14^2, 7^2 for the four embeddings of ResTv2 at 224) and is resized bicubically
    for other sizes, as ViT fine-tuning does.

    Args:
        dims (int): Channels C of the input.
        size (tuple[int, int]): (H0, W0), the map size at the pre-training input.

    Shape:
        (N, C, H, W) -> (N, C, H, W), any H, W >= 1.
    """

    def __init__(self, dims: int, size: Tuple[int, int]):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, dims, *size))
        self.init_weights()

    def init_weights(self) -> None:
        trunc_normal_(self.pos_embed, std=.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.pos_embed
        if theta.shape[-2:] != x.shape[-2:]:
            theta = F.interpolate(theta, size=x.shape[-2:], mode='bicubic', align_corners=False)
        return x + theta


def check_pos_embed(pos_embed: str) -> None:
    """Raises: ValueError naming ``pos_embed`` and the allowed values."""
    if pos_embed not in POS_EMBEDS:
        raise ValueError(f'pos_embed must be one of {POS_EMBEDS} (ResTv2 Table 2d), '
                         f'got {pos_embed!r}')


def build_position(pos_embed: str, dims: int, size: Tuple[int, int]) -> Optional[nn.Module]:
    """The ``pos`` module of an embedding for ``pos_embed``, or None where the embedding has none
    (``'none'``; ``'rpe'``, which the attention holds).

    Args:
        pos_embed: One of :data:`POS_EMBEDS`.
        dims: Channels of the map.
        size: (H0, W0), the map size at the pre-training input (used by APE only).

    Raises:
        ValueError: unknown ``pos_embed``.
    """
    check_pos_embed(pos_embed)
    if pos_embed == 'pa':
        return PA(dims)
    if pos_embed == 'peg':
        return PEG(dims)
    if pos_embed == 'ape':
        return APE(dims, size)
    return None


def relative_position(rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor,
                      hw_shape: Tuple[int, int]) -> torch.Tensor:
    """RPE's ``P = P_h + P_w`` (ResTv2 appendix E, eq. 2) for a key map of ``hw_shape``.

    The tables are made for the keys at the pre-training input; for another key map they are
    resized linearly along their own axis.

    Args:
        rel_pos_h: (k, h', 1, d) positions along the height.
        rel_pos_w: (k, 1, w', d) positions along the width.
        hw_shape: (hk, wk) of the keys.

    Returns:
        (k, hk * wk, d), in the keys' row-major order, to add to K.
    """
    hk, wk = hw_shape
    heads, d = rel_pos_h.shape[0], rel_pos_h.shape[-1]
    if rel_pos_h.shape[1] != hk:
        table = rel_pos_h.permute(0, 3, 1, 2).reshape(1, heads * d, -1, 1)
        rel_pos_h = F.interpolate(table, size=(hk, 1), mode='bilinear', align_corners=False) \
            .view(heads, d, hk, 1).permute(0, 2, 3, 1)
    if rel_pos_w.shape[2] != wk:
        table = rel_pos_w.permute(0, 3, 1, 2).reshape(1, heads * d, 1, -1)
        rel_pos_w = F.interpolate(table, size=(1, wk), mode='bilinear', align_corners=False) \
            .view(heads, d, 1, wk).permute(0, 2, 3, 1)
    return (rel_pos_h + rel_pos_w).reshape(heads, hk * wk, d)
