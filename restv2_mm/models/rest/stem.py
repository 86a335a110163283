"""The convolutional stem of ResTv1 (official models/rest.py, ``BasicStem``)."""
from typing import Tuple

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG
from ..common.grad_checkpoint import checkpointed
from ..common.layout import to_tokens
from .position import PA


class ResTv1Stem(nn.Module):
    """ResTv1 stem: Conv3x3-s2 (C/2) + BN + ReLU, Conv3x3-s1 (C/2) + BN + ReLU, Conv3x3-s2 (C), PA.

    No norm on the output tokens (ResTv2's stem adds a 1x1 conv and a LayerNorm). Module names
    follow the official release (``conv1``, ``norm1``, ``conv2``, ``norm2``, ``conv3``,
    ``pos.pa_conv``) so its checkpoints load unchanged. The official code also defines a 7x7
    ``Stem`` that its models do not use.

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): Norm of the first two convs. Default: ``dict(type='BN')``.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', C) with H' = ceil(ceil(H/2)/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        hidden = embed_dims // 2
        self.conv1 = nn.Conv2d(in_channels, hidden, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm1 = build_norm_layer(conv_norm_cfg, hidden)[1]
        self.conv2 = nn.Conv2d(hidden, hidden, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = build_norm_layer(conv_norm_cfg, hidden)[1]
        self.conv3 = nn.Conv2d(hidden, embed_dims, kernel_size=3, stride=2, padding=1, bias=False)
        self.act = build_activation_layer(dict(type='ReLU', inplace=True))
        self.pos = PA(embed_dims)

    def forward(self, x: torch.Tensor,
                with_cp: bool = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the part after the last BatchNorm in backward (a BatchNorm run
        twice would update its running statistics twice)."""
        x = self.act(self.norm1(self.conv1(x)))
        x = self.act(self.norm2(self.conv2(x)))
        return checkpointed(self._tail, x, with_cp=with_cp)

    def _tail(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        return to_tokens(self.pos(self.conv3(x)))
