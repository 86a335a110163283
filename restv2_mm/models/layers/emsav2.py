"""EMSAv2: efficient multi-head self-attention with an upsample branch (ResTv2 section 3.2)."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ...ops import attention, channels_last, linear_add
from .defaults import NORM_CFG
from .layout import to_tokens


class EMSAv2(nn.Module):
    """EMSAv2 (ResTv2 section 3.2, eq. 2): ``proj(Softmax(QK^T / sqrt(d_k)) V + Up(V))``.

    Keys and values come from the input reduced by a depth-wise conv (kernel r+1, stride r,
    padding r//2) and a LayerNorm; ``Up`` is a depth-wise 3x3 conv from C to r*r*C followed by
    PixelShuffle(r), applied to V laid out as a (N, C, ceil(H/r), ceil(W/r)) map, then a
    LayerNorm. Attention runs through :func:`restv2_mm.ops.attention` (fused SDPA: the
    L x L/r^2 matrix is never stored; or the explicit reference). Module names follow the
    official release (``q``, ``kv``, ``sr``, ``sr_norm``, ``up.0``, ``up_norm``, ``proj``).

    Any H, W >= 1 work: the reduction conv gives ceil(H/r) x ceil(W/r) tokens, and the upsampled
    map (r * ceil(H/r) rows) is cropped back to H x W. For H, W divisible by r this is exactly the
    official computation.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads k; C must be divisible by k.
        sr_ratio (int): Spatial reduction ratio r >= 1 of keys and values.
        qkv_bias (bool): Bias in the ``q`` and ``kv`` linears. Default: True.
        attn_drop (float): Dropout on attention weights (training only). Default: 0.
        proj_drop (float): Dropout after ``proj``. Default: 0.
        norm_cfg (dict): Norm of the reduced tokens and of the upsampled map.
            Default: ``dict(type='LN', eps=1e-6)``.

    Shape:
        x: (N, H*W, C) tokens in row-major order; hw_shape: (H, W). Returns (N, H*W, C), plus
        ``residual`` (N, H*W, C) where one is given (added inside ``proj``).

    Raises:
        ValueError: if ``embed_dims`` is not divisible by ``num_heads`` or ``sr_ratio`` < 1.
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0., norm_cfg: dict = NORM_CFG):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})')
        if not isinstance(sr_ratio, int) or sr_ratio < 1:
            raise ValueError(f'sr_ratio must be an int >= 1, got {sr_ratio!r}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.attn_drop = attn_drop

        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio + 1, stride=sr_ratio,
                                padding=sr_ratio // 2, groups=embed_dims)
            self.sr_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.up = nn.Sequential(
            nn.Conv2d(embed_dims, sr_ratio * sr_ratio * embed_dims, kernel_size=3, padding=1,
                      groups=embed_dims),
            nn.PixelShuffle(sr_ratio))
        self.up_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int],
                residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        n, length, c = x.shape
        h, w = hw_shape
        heads = self.num_heads
        q = self.q(x).view(n, length, heads, c // heads).transpose(1, 2)

        if self.sr_ratio > 1:
            kv_in, (hk, wk) = to_tokens(self.sr(x.transpose(1, 2).reshape(n, c, h, w)))
            kv_in = self.sr_norm(kv_in)
        else:
            kv_in, (hk, wk) = x, (h, w)
        kv = self.kv(kv_in).view(n, hk * wk, 2, heads, c // heads).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]  # (N, heads, Lk, d)

        out = attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        out = out.transpose(1, 2).reshape(n, length, c)

        # Up(V): channels stay head-major (c = head * d + j), as in the official code. V is
        # already laid out (N, Lk, C) in memory: as a channels-last map the conv, PixelShuffle
        # and the way back to tokens need no NCHW copies (PixelShuffle is 5x faster so).
        up = channels_last(v.transpose(-1, -2).reshape(n, c, hk, wk))
        # Always cropped (a view where nothing is cut): no shape-dependent branch, so traced and
        # exported graphs stay valid at every size.
        up = self.up(up)[:, :, :h, :w]
        out = out + self.up_norm(to_tokens(up)[0])
        if self.proj_drop.p > 0 and self.training:
            out = self.proj_drop(self.proj(out))
            return out if residual is None else residual + out
        return linear_add(out, self.proj, residual)
