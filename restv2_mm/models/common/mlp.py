"""The position-wise MLP of the transformer blocks."""
from typing import Optional

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from ...ops import mlp_gelu
from .defaults import ACT_CFG


class Mlp(nn.Module):
    """``fc2(act(fc1(x)))`` with hidden width ``mlp_ratio * C`` (ResTv2 appendix D, "MLP_C").

    Kept as its own module (not mmcv's FFN) because the official checkpoints name the two linears
    ``fc1`` and ``fc2``. With the exact GELU and no dropout it runs through
    :func:`restv2_mm.ops.mlp_gelu` (fused kernels, or GELU recomputed in backward).

    Args:
        embed_dims (int): Channels C.
        mlp_ratio (float): Hidden width over C. Default: 4.
        act_cfg (dict): Activation. Default: ``dict(type='GELU')``.
        drop (float): Dropout after the activation and after ``fc2``. Default: 0.

    Shape:
        (..., C) -> (..., C); ``forward(x, residual)`` returns ``residual + mlp(x)``.
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4., act_cfg: dict = ACT_CFG,
                 drop: float = 0.):
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.fc1 = nn.Linear(embed_dims, hidden)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden, embed_dims)
        self.drop = nn.Dropout(drop)
        self._exact_gelu = isinstance(self.act, nn.GELU) and self.act.approximate == 'none'

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self._exact_gelu and (self.drop.p == 0 or not self.training):
            return mlp_gelu(x, self.fc1, self.fc2, residual)
        out = self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))
        return out if residual is None else residual + out
