"""The stride-2 patch embedding between the stages of ResTv1 (official models/rest.py)."""
from typing import Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG
from ..common.grad_checkpoint import checkpointed
from ..common.layout import to_tokens
from .position import PA


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
                with_cp: bool = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the PA after the BatchNorm in backward (the BatchNorm itself
        runs once, so its running statistics are updated once)."""
        return to_tokens(checkpointed(self.pos, self.norm(self.conv(x)), with_cp=with_cp))
