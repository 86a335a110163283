"""The feed-forward network of RMT: an MLP with a residual depth-wise conv on its hidden map."""
import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from ...ops import conv_mlp
from ..common.defaults import ACT_CFG
from .dwconv import DWConv2d


class ConvFFN(nn.Module):
    """``fc2(h + dwconv3x3(h))`` with ``h = act(fc1(x))`` (official ``FeedForwardNetwork`` of
    ``classfication_release/RMT.py``, with its defaults: no sub-LN, conv on, no dropout), through
    :func:`restv2_mm.ops.conv_mlp`.

    Module names (``fc1``, ``dwconv.conv``, ``fc2``) are the official ones.

    Args:
        embed_dims (int): Channels C.
        hidden_dims (int): Hidden width (``int(mlp_ratio * C)`` in RMT).
        act_cfg (dict): Activation after ``fc1``. Default: ``dict(type='GELU')``.

    Shape:
        (B, H, W, C) -> (B, H, W, C).
    """

    def __init__(self, embed_dims: int, hidden_dims: int, act_cfg: dict = ACT_CFG):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        self.dwconv = DWConv2d(hidden_dims, 3)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv_mlp(x, self.fc1, self.act, self.dwconv.conv, self.fc2)
