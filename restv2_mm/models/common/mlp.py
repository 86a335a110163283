"""The position-wise MLP of the transformer blocks."""
import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from ...ops import mlp
from .defaults import ACT_CFG


class Mlp(nn.Module):
    """``fc2(act(fc1(x)))`` with hidden width ``mlp_ratio * C`` (ResTv2 appendix D, "MLP_C"),
    through :func:`restv2_mm.ops.mlp`.

    Kept as its own module (not mmcv's FFN) because the official checkpoints name the two linears
    ``fc1`` and ``fc2``.

    Args:
        embed_dims (int): Channels C.
        mlp_ratio (float): Hidden width over C. Default: 4.
        act_cfg (dict): Activation. Default: ``dict(type='GELU')``.

    Shape:
        (..., C) -> (..., C).
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4., act_cfg: dict = ACT_CFG):
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.fc1 = nn.Linear(embed_dims, hidden)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mlp(x, self.fc1, self.act, self.fc2)
