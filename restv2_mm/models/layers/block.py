"""The ResTv2 transformer block: pre-norm EMSAv2 and MLP with stochastic depth."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_activation_layer
from mmcv.cnn.bricks import DropPath
from torch import nn

from .emsav2 import EMSAv2
from .fused import fusable, linear_add, linear_gelu
from .gelu_linear import gelu_linear
from .window import window_merge, window_partition


class Mlp(nn.Module):
    """Position-wise MLP ``fc2(GELU(fc1(x)))`` with hidden width ``mlp_ratio * C``.

    Kept as its own module (not mmcv's FFN) because the official checkpoints name the two
    linears ``fc1`` and ``fc2``.

    Shape:
        (..., C) -> (..., C); ``forward(x, residual)`` returns ``residual + mlp(x)``.
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4., act_cfg: dict = dict(type='GELU'),
                 drop: float = 0.):
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.fc1 = nn.Linear(embed_dims, hidden)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden, embed_dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        exact_gelu = isinstance(self.act, nn.GELU) and self.act.approximate == 'none'
        if exact_gelu and (self.drop.p == 0 or not self.training) and fusable(x, self):
            return linear_add(linear_gelu(x, self.fc1), self.fc2, residual)
        if exact_gelu and self.drop.p == 0 and torch.is_grad_enabled() \
                and not torch.jit.is_tracing():  # traces (FLOP counting) keep the aten ops
            out = gelu_linear(self.fc1(x), self.fc2)  # keeps one (L, 4C) map for backward, not two
        else:
            out = self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))
        return out if residual is None else residual + out


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

    Shape:
        x: (N, H*W, C); hw_shape: (H, W). Returns (N, H*W, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int, mlp_ratio: float = 4.,
                 drop_path: float = 0., qkv_bias: bool = True,
                 window_size: Optional[int] = None):
        super().__init__()
        self.window_size = window_size
        self.norm1 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = EMSAv2(embed_dims, num_heads, sr_ratio, qkv_bias=qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.mlp = Mlp(embed_dims, mlp_ratio)

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
