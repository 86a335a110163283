"""The feed-forward network of RMT: an MLP with a residual depth-wise conv on its hidden map."""
import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from ..common.defaults import ACT_CFG
from ..common.dwconv import DWConv2d


class ConvFFN(nn.Module):
    """``fc2(h + dwconv3x3(h))`` with ``h = act(fc1(x))`` (official ``FeedForwardNetwork`` of
    ``classfication_release/RMT.py``, with its defaults: no sub-LN, conv on, no dropout).

    Module names (``fc1``, ``dwconv.conv``, ``fc2``) are the official ones.

    Args:
        embed_dims (int): Channels C.
        hidden_dims (int): Hidden width (``int(mlp_ratio * C)`` in RMT).
        act_cfg (dict): Activation after ``fc1``. Default: ``dict(type='GELU')``.
        drop (float): Dropout after the activation and after ``fc2``. Default: 0.

    Shape:
        (B, H, W, C) -> (B, H, W, C).
    """

    def __init__(self, embed_dims: int, hidden_dims: int, act_cfg: dict = ACT_CFG,
                 drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = build_activation_layer(act_cfg)
        self.dwconv = DWConv2d(hidden_dims, 3)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x + self.dwconv(x)))
