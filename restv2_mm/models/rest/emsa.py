"""EMSA, the efficient multi-head self-attention of ResTv1 ("ResT: An Efficient Transformer for
Visual Recognition", NeurIPS 2021, section 3.1; official ``Attention`` of ``models/rest.py``)."""
from typing import Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ...ops import attention
from ..common.defaults import NORM_CFG
from ..common.layout import to_tokens
from .mhim import interaction_attention


def reduced_size(size: int, sr_ratio: int) -> int:
    """Side of the key map: the reduction conv (kernel r+1, stride r, padding r//2) output."""
    if sr_ratio == 1:
        return size
    return (size + 2 * (sr_ratio // 2) - sr_ratio - 1) // sr_ratio + 1


def split_heads(tokens: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(N, L, C) tokens, channels head-major -> (N, heads, L, C / heads), a view."""
    n, length, c = tokens.shape
    return tokens.view(n, length, num_heads, c // num_heads).transpose(1, 2)


class EMSA(nn.Module):
    """EMSA (ResTv1 section 3.1): ``proj(IN(Softmax(Conv1x1(Q K^T / sqrt(d)))) V)``.

    Keys and values come from ``x'``, the input reduced by a depth-wise conv (kernel r+1, stride
    r, padding r//2) and a LayerNorm, so attention costs L x L / r^2. The multi-head interaction
    (MHIM, :mod:`.mhim`: a 1x1 conv over the heads before the softmax, an InstanceNorm after it)
    mixes the heads' attention maps where there are several (official ``apply_transform``); it
    needs the attention matrix, so those layers run the explicit matmuls. Otherwise attention runs
    through :func:`restv2_mm.ops.attention`. Module names follow the official release (``q``,
    ``kv``, ``sr``, ``sr_norm``, ``transform_conv``, ``transform_norm``, ``proj``).

    Any H, W >= 1 work: the reduction conv gives ceil(H/r) x ceil(W/r) tokens.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads k; C must be divisible by k.
        sr_ratio (int): Spatial reduction ratio r >= 1 of keys and values.
        qkv_bias (bool): Bias in the ``q``/``kv`` linears. Default: True.
        attn_drop (float): Dropout on attention weights (training only). Default: 0.
        proj_drop (float): Dropout after ``proj``. Default: 0.
        norm_cfg (dict): Norm of the reduced tokens. Default: ``dict(type='LN', eps=1e-6)``.
        mhim (bool): The multi-head interaction where k > 1. Default: True (ResTv1).

    Shape:
        x: (N, H*W, C) tokens in row-major order; hw_shape: (H, W). Returns (N, H*W, C).

    Raises:
        ValueError / TypeError: ``embed_dims`` not divisible by ``num_heads``, ``sr_ratio`` < 1,
            ``mhim`` not a bool.
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0., norm_cfg: dict = NORM_CFG,
                 mhim: bool = True):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})')
        if not isinstance(sr_ratio, int) or sr_ratio < 1:
            raise ValueError(f'sr_ratio must be an int >= 1, got {sr_ratio!r}')
        if not isinstance(mhim, bool):
            raise TypeError(f'mhim must be True or False (ResTv2 appendix B), got {mhim!r}')
        self.embed_dims, self.num_heads, self.sr_ratio = embed_dims, num_heads, sr_ratio
        self.attn_drop = attn_drop
        self._build_projections(embed_dims, qkv_bias)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio + 1, stride=sr_ratio,
                                padding=sr_ratio // 2, groups=embed_dims)
            self.sr_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self._build_up(embed_dims, sr_ratio, norm_cfg)
        # ResTv1 applies the interaction only where there are heads to mix (`num_heads > 1`).
        self.mhim = mhim and num_heads > 1
        if self.mhim:
            self.transform_conv = nn.Conv2d(num_heads, num_heads, kernel_size=1)
            self.transform_norm = nn.InstanceNorm2d(num_heads)
        self._build_positions()
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    # Construction steps a subclass extends, in the order of the official module names (which
    # is the order of the parameters, and of their random initialisation).
    def _build_projections(self, embed_dims: int, qkv_bias: bool) -> None:
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)

    def _build_up(self, embed_dims: int, sr_ratio: int, norm_cfg: dict) -> None:
        """EMSAv2's upsampling branch; none in EMSA."""

    def _build_positions(self) -> None:
        """Appendix E's relative positions; none in EMSA."""

    def reduce(self, x: torch.Tensor, hw_shape: Tuple[int, int]):
        """``x'`` (N, L', C) = LN(DWConv(x)), and its map size (hk, wk); x itself where r = 1."""
        if self.sr_ratio == 1:
            return x, hw_shape
        n, _, c = x.shape
        reduced, reduced_shape = to_tokens(self.sr(x.transpose(1, 2).reshape(n, c, *hw_shape)))
        return self.sr_norm(reduced), reduced_shape

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The heads' attention, (N, L, C) tokens (N, L', C) keys and values -> (N, L, C)."""
        n, length, c = q.shape
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))
        dropout_p = self.attn_drop if self.training else 0.
        if self.mhim:
            out = interaction_attention(q, k, v, self.transform_conv, self.transform_norm,
                                        dropout_p)
        else:
            out = attention(q, k, v, dropout_p=dropout_p)
        return out.transpose(1, 2).reshape(n, length, c)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        reduced, _ = self.reduce(x, hw_shape)
        k, v = self.kv(reduced).chunk(2, dim=-1)  # K then V, channels head-major
        return self.proj_drop(self.proj(self.attend(self.q(x), k, v)))
