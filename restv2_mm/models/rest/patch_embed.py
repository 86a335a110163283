"""The stride-2 patch embeddings between stages: ResTv2's (appendix D, Table 4) and ResTv1's
(official models/rest.py)."""
from typing import Optional, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG, NORM_CFG
from ..common.layout import to_tokens
from ..common.recompute import recomputed
from .position import PA, build_position


class PatchEmbed(nn.Module):
    """Stride-2 patch embedding: Conv3x3-s2-p1, PA, LN (appendix D, Table 4).

    Module names follow the official release (``proj``, ``pos.pa_conv``, ``norm``).

    Args:
        in_channels (int): Channels of the previous stage.
        embed_dims (int): Channels of the next stage.
        norm_cfg (dict): Norm of the output tokens. Default: ``dict(type='LN', eps=1e-6)``.
        pos_embed (str): The ``pos`` layer (appendix E): ``'pa'`` (default), ``'peg'``, ``'ape'``,
            or none for ``'none'`` and ``'rpe'``; see :func:`.position.build_position`.
        pos_size (tuple[int, int], optional): Output map size at the pre-training input, which
            sizes APE.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', embed_dims) with H' = ceil(H/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, norm_cfg: dict = NORM_CFG,
                 pos_embed: str = 'pa', pos_size: Optional[Tuple[int, int]] = None):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=2, padding=1)
        self.pos = build_position(pos_embed, embed_dims, pos_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor,
                with_cp: Union[bool, str] = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes this embedding in backward instead of keeping its activations."""
        return recomputed(self._embed, x, with_cp=with_cp)

    def _embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj(x)
        x, hw_shape = to_tokens(x if self.pos is None else self.pos(x))
        return self.norm(x), hw_shape


class ResTv1PatchEmbed(nn.Module):
    """ResTv1 patch embedding: Conv3x3-s2-p1 (with bias), BatchNorm, PA; no LayerNorm.

    Module names follow the official release (``conv``, ``norm``, ``pos.pa_conv``). The output
    size is the conv's, ceil(H/2): the official code reports H // 2, which equals it for even H
    and breaks the reshape after the stage for odd H.

    Args:
        in_channels (int): Channels of the previous stage.
        embed_dims (int): Channels of the next stage.
        conv_norm_cfg (dict): Norm after the conv. Default: ``dict(type='BN')``.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', embed_dims) with H' = ceil(H/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=2, padding=1)
        self.norm = build_norm_layer(conv_norm_cfg, embed_dims)[1]
        self.pos = PA(embed_dims)

    def forward(self, x: torch.Tensor,
                with_cp: Union[bool, str] = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the PA after the BatchNorm in backward (the BatchNorm itself
        runs once, so its running statistics are updated once)."""
        return to_tokens(recomputed(self.pos, self.norm(self.conv(x)), with_cp=with_cp))
