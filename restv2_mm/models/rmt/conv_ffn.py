"""The feed-forward network of RMT: an MLP with a residual depth-wise conv on its hidden map."""
from typing import Optional

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from ...ops import conv_mlp_gelu
from ..common.defaults import ACT_CFG
from ..common.dwconv import DWConv2d


class ConvFFN(nn.Module):
    """``fc2(h + dwconv3x3(h))`` with ``h = act(fc1(x))`` (official ``FeedForwardNetwork`` of
    ``classfication_release/RMT.py``, with its defaults: no sub-LN, conv on, no dropout).

    Module names (``fc1``, ``dwconv.conv``, ``fc2``) are the official ones. With the exact GELU
    and no dropout it runs through :func:`restv2_mm.ops.conv_mlp_gelu` (fused kernels, or only
    ``fc1``'s output kept for backward).

    Args:
        embed_dims (int): Channels C.
        hidden_dims (int): Hidden width (``int(mlp_ratio * C)`` in RMT).
        act_cfg (dict): Activation after ``fc1``. Default: ``dict(type='GELU')``.
        drop (float): Dropout after the activation and after ``fc2``. Default: 0.

    Shape:
        (B, H, W, C) -> (B, H, W, C); ``forward(x, residual)`` returns ``residual + ffn(x)``.
    """

    def __init__(self, embed_dims: int, hidden_dims: int, act_cfg: dict = ACT_CFG,
                 drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        self.dwconv = DWConv2d(hidden_dims, 3)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)
        self._exact_gelu = isinstance(self.act, nn.GELU) and self.act.approximate == 'none'

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self._exact_gelu and (self.drop.p == 0 or not self.training):
            return conv_mlp_gelu(x, self.fc1, self.dwconv.conv, self.fc2, residual)
        x = self.drop(self.act(self.fc1(x)))
        out = self.drop(self.fc2(x + self.dwconv(x)))
        return out if residual is None else residual + out
