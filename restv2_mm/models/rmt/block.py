"""The RMT block: conditional position encoding, then pre-norm retention and FFN."""
from typing import Optional

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import nn

from ...ops import dwconv_residual
from ..common.defaults import ACT_CFG, NORM_CFG
from .conv_ffn import ConvFFN
from .dwconv import DWConv2d
from .retention import RelPos, VisionRetention


class RMTBlock(nn.Module):
    """``x + CPE(x)``, then ``x + DropPath(s1 * ReSA(LN(x)))`` and ``x + DropPath(s2 * FFN(LN(x)))``.

    The official ``RetBlock`` (``classfication_release/RMT.py``): CPE is a 3x3 depth-wise conv
    (``pos``), ReSA the retention of :class:`VisionRetention`, FFN :class:`ConvFFN`; s1, s2 are
    the layer-scale vectors ``gamma_1``, ``gamma_2`` (official RMT-B and RMT-L, stages 3 and 4),
    else 1. Module names are the official ones.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Retention heads.
        mlp_ratio (float): FFN hidden width over C (``int(mlp_ratio * C)``).
        decomposed (bool): Decomposed (row, then column) retention instead of the whole map.
        drop_path (float): Stochastic depth rate of this block. Default: 0.
        layer_scale_init (float, optional): Initial value of ``gamma_1``/``gamma_2``; None (default)
            for no layer scale.
        norm_cfg (dict): The two LayerNorms. Default: ``dict(type='LN', eps=1e-6)`` (official).
        act_cfg (dict): FFN activation. Default: ``dict(type='GELU')``.

    Shape:
        x (B, H, W, C) and ``rel_pos`` of :class:`RetentionRelPos2d` for (H, W) -> (B, H, W, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float, decomposed: bool,
                 drop_path: float = 0., layer_scale_init: Optional[float] = None,
                 norm_cfg: dict = NORM_CFG, act_cfg: dict = ACT_CFG):
        super().__init__()
        self.pos = DWConv2d(embed_dims, 3)
        self.retention_layer_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.retention = VisionRetention(embed_dims, num_heads, decomposed)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.final_layer_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = ConvFFN(embed_dims, int(mlp_ratio * embed_dims), act_cfg=act_cfg)
        self.layer_scale_init = layer_scale_init
        self.gamma_1 = self.gamma_2 = None
        if layer_scale_init is not None:
            self.gamma_1 = nn.Parameter(torch.full((1, 1, 1, embed_dims), float(layer_scale_init)))
            self.gamma_2 = nn.Parameter(torch.full((1, 1, 1, embed_dims), float(layer_scale_init)))

    def forward(self, x: torch.Tensor, rel_pos: RelPos) -> torch.Tensor:
        x = dwconv_residual(x, self.pos.conv)  # x + CPE(x)
        x = x + self.drop_path(_scaled(self.gamma_1, self.retention(
            self.retention_layer_norm(x), rel_pos)))
        return x + self.drop_path(_scaled(self.gamma_2, self.ffn(self.final_layer_norm(x))))


def _scaled(gamma: Optional[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``gamma * x`` with layer scale, ``x`` without (no pass over the map)."""
    return x if gamma is None else gamma * x
