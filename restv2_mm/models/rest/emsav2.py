"""EMSAv2: efficient multi-head self-attention with an upsample branch (ResTv2 section 3.2), and
the switches of the paper's ablations (Table 2a-c, appendices B and E)."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ...ops import attention, linear_add
from ..common.defaults import NORM_CFG
from ..common.layout import to_tokens
from ..common.upsample import build_upsample, check_up_mode, upsample
from .mhim import interaction_attention
from .position import relative_position

UP_TARGETS = ('v', 'k', 'x', 'none')
BRANCHES = ('both', 'attn', 'conv')


def check_switches(up_target: str = 'v', up_mode: str = 'pixel_shuffle', branches: str = 'both',
                   mhim: bool = False, rpe: bool = False) -> None:
    """Check the ablation switches of :class:`EMSAv2` alone and together.

    Raises:
        ValueError / TypeError: an unknown value, or a combination with no meaning (the ConvNet
            branch has no attention map for MHIM or RPE and no keys to upsample; the EMSA branch
            alone has nothing to upsample). Each message names the arguments and the allowed
            values.
    """
    if up_target not in UP_TARGETS:
        raise ValueError(f'up_target must be one of {UP_TARGETS} (ResTv2 Table 2a), '
                         f'got {up_target!r}')
    check_up_mode(up_mode)
    if branches not in BRANCHES:
        raise ValueError(f'branches must be one of {BRANCHES} (ResTv2 Table 2c), got {branches!r}')
    if not isinstance(mhim, bool):
        raise TypeError(f'mhim must be True or False (ResTv2 appendix B), got {mhim!r}')
    if branches == 'attn' and up_target in ('x', 'k'):
        raise ValueError(f"branches='attn' (EMSA alone) has no upsampling branch; up_target must "
                         f"be 'v' (the default) or 'none' with it, got {up_target!r}")
    if branches == 'conv':
        if up_target not in ('v', 'x'):
            raise ValueError(f"branches='conv' (the downsample-upsample ConvNet alone) computes "
                             f"no keys; up_target must be 'v' or 'x' with it, got {up_target!r}")
        if mhim or rpe:
            raise ValueError(f"branches='conv' has no attention map: mhim=True and "
                             f"pos_embed='rpe' need one (got mhim={mhim!r}, "
                             f"pos_embed={'rpe' if rpe else 'not rpe'})")
    if up_mode != 'pixel_shuffle' and (up_target == 'none' or branches == 'attn'):
        raise ValueError(f'up_mode={up_mode!r} chooses how to upsample, but up_target='
                         f'{up_target!r}, branches={branches!r} has no upsampling branch')


def reduced_size(size: int, sr_ratio: int) -> int:
    """Side of the key map: the reduction conv (kernel r+1, stride r, padding r//2) output."""
    if sr_ratio == 1:
        return size
    return (size + 2 * (sr_ratio // 2) - sr_ratio - 1) // sr_ratio + 1


class EMSAv2(nn.Module):
    """EMSAv2 (ResTv2 section 3.2, eq. 2): ``proj(Softmax(QK^T / sqrt(d_k)) V + Up(V))``.

    Keys and values come from ``x'``, the input reduced by a depth-wise conv (kernel r+1, stride
    r, padding r//2) and a LayerNorm; ``Up`` is a depth-wise 3x3 conv from C to r*r*C followed by
    PixelShuffle(r), applied to V laid out as a (N, C, ceil(H/r), ceil(W/r)) map, then a
    LayerNorm. Attention runs through :func:`restv2_mm.ops.attention` (fused SDPA: the
    L x L/r^2 matrix is never stored; or the explicit reference). Module names follow the
    official release (``q``, ``kv``, ``sr``, ``sr_norm``, ``up.0``, ``up_norm``, ``proj``).

    Any H, W >= 1 work: the reduction conv gives ceil(H/r) x ceil(W/r) tokens, and the upsampled
    map (r * ceil(H/r) rows) is cropped back to H x W. For H, W divisible by r this is exactly the
    official computation.

    The paper's ablations are switches; the defaults are the released model (same state dict):

    - ``up_target`` (Table 2a): what ``Up`` upsamples, each a (N, L', C) map with head-major
      channels: ``'v'`` (default), ``'k'`` (the first C channels of ``kv(x')``), ``'x'`` (``x'``
      itself, ``x`` where r = 1), or ``'none'`` (EMSA: no ``up``, no ``up_norm``).
    - ``up_mode`` (Table 2b): ``'pixel_shuffle'`` (default), or ``'nearest'``/``'bilinear'``
      interpolation by r, which have no parameters: no ``up`` and no ``up_norm`` (the paper lists
      them with the parameters and FLOPs of no upsampling).
    - ``branches`` (Table 2c): ``'both'`` (default); ``'attn'``, EMSA alone (= ``up_target``
      ``'none'``); ``'conv'``, the downsample-upsample ConvNet alone, without self-attention:
      ``proj(up_norm(Up(v(x'))))`` with ``v`` a Linear(C, C) in place of ``q`` and ``kv``
      (``up_target='x'`` drops ``v`` too).
    - ``mhim`` (appendix B): ResTv1's multi-head interaction (:mod:`.mhim`) where k > 1:
      ``transform_conv`` (1x1 conv over heads) before the softmax and ``transform_norm``
      (InstanceNorm, no keys) after it. It needs the attention matrix, so these layers use the
      explicit matmuls, never fused attention.
    - ``rpe_size`` (appendix E, ``pos_embed='rpe'`` of the backbone): the (H, W) input map the
      relative positions ``rel_pos_h`` (k, h', 1, d) and ``rel_pos_w`` (k, 1, w', d) are made for
      (h', w' that of the keys); ``P_h + P_w`` is added to K, so fused attention still applies.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads k; C must be divisible by k.
        sr_ratio (int): Spatial reduction ratio r >= 1 of keys and values.
        qkv_bias (bool): Bias in the ``q``/``kv`` (and ConvNet ``v``) linears. Default: True.
        attn_drop (float): Dropout on attention weights (training only). Default: 0.
        proj_drop (float): Dropout after ``proj``. Default: 0.
        norm_cfg (dict): Norm of the reduced tokens and of the upsampled map.
            Default: ``dict(type='LN', eps=1e-6)``.
        up_target (str): ``'v'``, ``'k'``, ``'x'`` or ``'none'``. Default: ``'v'``.
        up_mode (str): ``'pixel_shuffle'``, ``'nearest'`` or ``'bilinear'``.
            Default: ``'pixel_shuffle'``.
        branches (str): ``'both'``, ``'attn'`` or ``'conv'``. Default: ``'both'``.
        mhim (bool): Multi-head interaction. Default: False.
        rpe_size (tuple[int, int], optional): Input map size of the RPE tables; None: no RPE.

    Shape:
        x: (N, H*W, C) tokens in row-major order; hw_shape: (H, W). Returns (N, H*W, C), plus
        ``residual`` (N, H*W, C) where one is given (added inside ``proj``).

    Raises:
        ValueError: if ``embed_dims`` is not divisible by ``num_heads``, ``sr_ratio`` < 1, or the
            switches are unknown or do not go together (:func:`check_switches`).
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0., norm_cfg: dict = NORM_CFG,
                 up_target: str = 'v', up_mode: str = 'pixel_shuffle', branches: str = 'both',
                 mhim: bool = False, rpe_size: Optional[Tuple[int, int]] = None):
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})')
        if not isinstance(sr_ratio, int) or sr_ratio < 1:
            raise ValueError(f'sr_ratio must be an int >= 1, got {sr_ratio!r}')
        check_switches(up_target, up_mode, branches, mhim, rpe_size is not None)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.attn_drop = attn_drop
        self.branches = branches
        self.up_target = 'none' if branches == 'attn' else up_target
        self.up_mode = up_mode

        if branches != 'conv':
            self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
            self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        elif up_target == 'v':
            self.v = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio + 1, stride=sr_ratio,
                                padding=sr_ratio // 2, groups=embed_dims)
            self.sr_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.up = self.up_norm = None
        if self.up_target != 'none':
            self.up = build_upsample(embed_dims, sr_ratio, up_mode)
            if self.up is not None:
                self.up_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        # ResTv1 applies the interaction only where there are heads to mix (`num_heads > 1`).
        self.mhim = mhim and num_heads > 1
        if self.mhim:
            self.transform_conv = nn.Conv2d(num_heads, num_heads, kernel_size=1)
            self.transform_norm = nn.InstanceNorm2d(num_heads)
        self.rel_pos_h = self.rel_pos_w = None
        if rpe_size is not None:
            hk, wk = (reduced_size(s, sr_ratio) for s in rpe_size)
            d = embed_dims // num_heads
            self.rel_pos_h = nn.Parameter(torch.zeros(num_heads, hk, 1, d))
            self.rel_pos_w = nn.Parameter(torch.zeros(num_heads, 1, wk, d))
            self.init_rpe()
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def init_rpe(self) -> None:
        """Trunc-normal (std 0.02) relative positions, as the usual learnable embeddings."""
        if self.rel_pos_h is not None:
            nn.init.trunc_normal_(self.rel_pos_h, std=.02)
            nn.init.trunc_normal_(self.rel_pos_w, std=.02)

    def _reduce(self, x: torch.Tensor, hw_shape: Tuple[int, int]):
        """``x'`` (N, L', C) and its map size."""
        if self.sr_ratio == 1:
            return x, hw_shape
        n, _, c = x.shape
        reduced, reduced_shape = to_tokens(self.sr(x.transpose(1, 2).reshape(n, c, *hw_shape)))
        return self.sr_norm(reduced), reduced_shape

    def _up(self, tokens: torch.Tensor, reduced_shape, hw_shape) -> torch.Tensor:
        out = upsample(tokens, reduced_shape, hw_shape, self.sr_ratio, self.up, self.up_mode)
        return out if self.up_norm is None else self.up_norm(out)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int],
                residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        reduced, reduced_shape = self._reduce(x, hw_shape)
        if self.branches == 'conv':
            out = self._up(reduced if self.up_target == 'x' else self.v(reduced), reduced_shape,
                           hw_shape)
        else:
            out = self._attend(x, reduced, reduced_shape, hw_shape)
        if self.proj_drop.p > 0 and self.training:
            out = self.proj_drop(self.proj(out))
            return out if residual is None else residual + out
        return linear_add(out, self.proj, residual)

    def _attend(self, x: torch.Tensor, reduced: torch.Tensor, reduced_shape,
                hw_shape) -> torch.Tensor:
        """The self-attention branch, plus the upsampled target; before ``proj``."""
        n, length, c = x.shape
        heads = self.num_heads
        q = self.q(x).view(n, length, heads, c // heads).transpose(1, 2)
        kv = self.kv(reduced)  # (N, L', 2C): K then V, channels head-major
        k = kv[..., :c].view(n, -1, heads, c // heads).transpose(1, 2)  # (N, heads, L', d)
        v = kv[..., c:].view(n, -1, heads, c // heads).transpose(1, 2)
        if self.rel_pos_h is not None:
            k = k + relative_position(self.rel_pos_h, self.rel_pos_w, reduced_shape)
        dropout_p = self.attn_drop if self.training else 0.
        if self.mhim:
            out = interaction_attention(q, k, v, self.transform_conv, self.transform_norm,
                                        dropout_p)
        else:
            out = attention(q, k, v, dropout_p=dropout_p)
        out = out.transpose(1, 2).reshape(n, length, c)
        if self.up_target == 'none':
            return out
        target = {'v': kv[..., c:], 'k': kv[..., :c], 'x': reduced}[self.up_target]
        return out + self._up(target, reduced_shape, hw_shape)
