"""The ResT transformer block: pre-norm attention and MLP with stochastic depth."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import nn

from ..common.defaults import ACT_CFG, NORM_CFG
from ..common.mlp import Mlp
from ..common.window import window_merge, window_partition
from .ablations import build_emsa


class ResTBlock(nn.Module):
    """``x = x + DropPath(Attn(LN(x)))``, then ``x = x + DropPath(MLP(LN(x)))`` (ResTv2 section
    3.2; ResTv1 section 3). ``Attn`` is EMSAv2 by default, or what ``attn_cfg`` asks of
    :func:`~.ablations.build_emsa` (ResTv1's EMSA, the paper's ablations).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Attention heads.
        sr_ratio (int): Spatial reduction ratio of the attention.
        mlp_ratio (float): MLP hidden width over C. Default: 4.
        drop_path (float): Stochastic depth rate of this block. Default: 0.
        qkv_bias (bool): Bias in ``q``/``kv``. Default: True.
        window_size (int, optional): Run the attention inside non-overlapping windows of this
            many tokens a side (the Win style of paper 5.1): the normalized map is zero-padded to
            a multiple of the window, its windows are batched, and merged back afterwards. The MLP
            always runs on the unpadded map. None (default) is global attention.
        norm_cfg (dict): Norms. Default: ``dict(type='LN', eps=1e-6)``.
        act_cfg (dict): MLP activation. Default: ``dict(type='GELU')``.
        attn_cfg (dict, optional): Further :func:`~.ablations.build_emsa` arguments (``up_target``,
            ``up_mode``, ``branches``, ``mhim``, ``rpe_size``). Default: none (EMSAv2).

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
        self.attn = build_emsa(embed_dims, num_heads, sr_ratio, qkv_bias=qkv_bias,
                               norm_cfg=norm_cfg, **(attn_cfg or {}))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = Mlp(embed_dims, mlp_ratio, act_cfg=act_cfg)

    def attention(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        """``Attn(x)``, over the whole map or window by window."""
        if self.window_size is None:
            return self.attn(x, hw_shape)
        s = self.window_size
        windows, padded = window_partition(x, hw_shape, s)
        return window_merge(self.attn(windows, (s, s)), hw_shape, padded, s)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path(self.attention(self.norm1(x), hw_shape))
        return x + self.drop_path(self.mlp(self.norm2(x)))
