"""The ResTv2 transformer block: pre-norm EMSAv2 and MLP with stochastic depth (ResTv1's block
too, with its EMSA through ``attn_cfg``)."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import nn

from ..common.defaults import ACT_CFG, NORM_CFG
from ..common.mlp import Mlp
from ..common.window import window_merge, window_partition
from .emsav2 import EMSAv2


class ResTv2Block(nn.Module):
    """``x + DropPath(EMSAv2(LN(x)))`` then ``x + DropPath(MLP(LN(x)))`` (ResTv2 section 3.2).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): EMSAv2 heads.
        sr_ratio (int): EMSAv2 spatial reduction ratio.
        mlp_ratio (float): MLP hidden width over C. Default: 4.
        drop_path (float): Stochastic depth rate of this block. Default: 0.
        qkv_bias (bool): Bias in ``q``/``kv``. Default: True.
        window_size (int, optional): Run the whole EMSAv2 inside non-overlapping windows of this
            many tokens a side (the Win style of paper 5.1): the normalized map is zero-padded to
            a multiple of the window, its windows are batched, and merged back afterwards. The MLP
            always runs on the unpadded map. None (default) is global attention.
        norm_cfg (dict): Norms. Default: ``dict(type='LN', eps=1e-6)``.
        act_cfg (dict): MLP activation. Default: ``dict(type='GELU')``.
        attn_cfg (dict, optional): Further :class:`EMSAv2` arguments: the ablation switches
            (``up_target``, ``up_mode``, ``branches``, ``mhim``, ``rpe_size``). Default: none.

    Shape:
        x: (N, H*W, C); hw_shape: (H, W). Returns (N, H*W, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int, mlp_ratio: float = 4.,
                 drop_path: float = 0., qkv_bias: bool = True,
                 window_size: Optional[int] = None, norm_cfg: dict = NORM_CFG,
                 act_cfg: dict = ACT_CFG, attn_cfg: Optional[dict] = None):
        super().__init__()
        self.window_size = window_size
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = EMSAv2(embed_dims, num_heads, sr_ratio, qkv_bias=qkv_bias, norm_cfg=norm_cfg,
                           **(attn_cfg or {}))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, mlp_ratio, act_cfg=act_cfg)

    def _attention(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        if self.window_size is None:
            return self.attn(x, hw_shape)
        s = self.window_size
        windows, padded = window_partition(x, hw_shape, s)
        return window_merge(self.attn(windows, (s, s)), hw_shape, padded, s)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        if self.training and not isinstance(self.drop_path, nn.Identity):
            x = x + self.drop_path(self._attention(self.norm1(x), hw_shape))
            return x + self.drop_path(self.mlp(self.norm2(x)))
        # No stochastic depth: the residual adds go into the output linears (fused on CPU).
        if self.window_size is None:
            x = self.attn(self.norm1(x), hw_shape, residual=x)
        else:
            x = x + self._attention(self.norm1(x), hw_shape)
        return self.mlp(self.norm2(x), residual=x)
