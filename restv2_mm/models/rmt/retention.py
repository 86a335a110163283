"""RMT's retention: the Manhattan decay masks, the rotary position and the retention attention.

RMT (Retentive Networks Meet Vision Transformers, CVPR 2024) adds to softmax attention a per-head
spatial decay: head i sees a token at Manhattan distance d with weight gamma_i ** d, where
gamma_i = 1 - 2 ** (-a - (b - a) * i / N) (supplement E, Eq. 1 and Table 4). The official code
(``RetNetRelPos2d``, ``VisionRetentionChunk``, ``VisionRetentionAll``, ``theta_shift`` in
``classfication_release/RMT.py``) adds ``d * log(gamma_i)`` to the logits before the softmax, and
rotates q and k by a rotary position over the raster index of the map; this module computes the
same.
"""
from typing import Optional, Tuple, Union

import torch
from torch import nn

from ...ops import attention, column_attention, rotary
from ...utils.torch_compat import autocast_state
from .dwconv import DWConv2d

RelPos = Tuple[Tuple[torch.Tensor, torch.Tensor],
               Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]]


class RetentionRelPos2d(nn.Module):
    """Rotary angles and the decay masks of one RMT stage (official ``RetNetRelPos2d``).

    Head i of N decays with gamma_i = 1 - 2 ** (-a - r * i / N), i = 0..N-1, where a is
    ``init_value`` and r = b - a is ``heads_range`` (supplement E, Eq. 1; Table 4 gives a and b,
    the official configs a and b - a). The buffer ``decay`` holds log(gamma_i) and ``angle`` the
    rotary frequencies 10000 ** -linspace(0, 1, D / 2), each repeated for its channel pair; both
    are persistent, as in the official checkpoints, so those load without unexpected keys.

    ``decay_exponent`` e (not saved) gives gamma' = gamma ** e, the resolution change of
    supplement C: e = res_ori / res_new, e.g. 224 / 384 when fine-tuning at 384.

    Args:
        embed_dims (int): Channels C of the stage.
        num_heads (int): Heads N; C / N must be even (channels rotate in pairs).
        init_value (float): a > 0.
        heads_range (float): b - a >= 0.
        decay_exponent (float): e > 0. Default: 1 (the official model).

    Raises:
        ValueError: C not divisible by N, C / N odd, a <= 0, b - a < 0 or e <= 0.
    """

    def __init__(self, embed_dims: int, num_heads: int, init_value: float, heads_range: float,
                 decay_exponent: float = 1.):
        super().__init__()
        if embed_dims % num_heads or (embed_dims // num_heads) % 2:
            raise ValueError(f'embed_dims / num_heads must be an even int (rotary position turns '
                             f'channel pairs), got {embed_dims} / {num_heads}')
        if not init_value > 0 or not heads_range >= 0:
            raise ValueError(f'the decay range needs a > 0 and b - a >= 0, got init_value='
                             f'{init_value!r}, heads_range={heads_range!r}')
        if not decay_exponent > 0:
            raise ValueError(f'decay_exponent must be > 0, got {decay_exponent!r}')
        half = embed_dims // num_heads // 2
        angle = (1.0 / 10000 ** torch.linspace(0, 1, half)).repeat_interleave(2)
        heads = torch.arange(num_heads, dtype=torch.float)
        decay = torch.log(1 - 2 ** (-init_value - heads_range * heads / num_heads))
        self.register_buffer('angle', angle)
        self.register_buffer('decay', decay)
        self.decay_exponent = float(decay_exponent)

    def _apply(self, fn, *args, **kwargs):
        """As ``nn.Module._apply`` (``.to``, ``.half()``, ...), but ``angle`` and ``decay`` never go
        below float32: the tables are computed from them, and a rounded angle times a raster index
        of tens of thousands is no angle at all."""
        kept = dict(self._buffers)
        super()._apply(fn, *args, **kwargs)
        for name, old in kept.items():
            new = self._buffers[name]
            if old is not None and new is not None and new.dtype in (torch.float16, torch.bfloat16):
                self._buffers[name] = old.to(device=new.device, dtype=torch.float32)
        return self

    def _precise(self) -> torch.dtype:
        """float32, or float64 for a float64 module: the dtype the tables are computed in."""
        return torch.promote_types(self.decay.dtype, torch.float32)

    def log_gamma(self) -> torch.Tensor:
        """log(gamma_i ** e) per head, shape (N, ), in float32 or float64."""
        decay = self.decay.to(self._precise())
        return decay if self.decay_exponent == 1 else decay * self.decay_exponent

    def _index(self, n: int) -> torch.Tensor:
        return torch.arange(n, device=self.decay.device, dtype=self._precise())

    def rotary(self, h: int, w: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(sin, cos), each (H, W, D), in float32 or float64: the angles grow with the raster index
        y * W + x, as in the official code (a 1-D rotary over the flattened map, not separate row
        and column angles)."""
        phase = self._index(h * w)[:, None] * self.angle.to(self._precise())[None, :]
        return phase.sin().reshape(h, w, -1), phase.cos().reshape(h, w, -1)

    def decay_1d(self, length: int) -> torch.Tensor:
        """|i - j| * log(gamma) along one axis, shape (N, L, L), in float32 or float64."""
        index = self._index(length)
        return (index[:, None] - index[None, :]).abs() * self.log_gamma()[:, None, None]

    def decay_2d(self, h: int, w: int) -> torch.Tensor:
        """Manhattan distance times log(gamma) between all raster positions, shape (N, HW, HW), in
        float32 or float64."""
        rows, cols = self._index(h), self._index(w)
        dist_h = (rows[:, None] - rows[None, :]).abs()
        dist_w = (cols[:, None] - cols[None, :]).abs()
        dist = (dist_h[:, None, :, None] + dist_w[None, :, None, :]).reshape(h * w, h * w)
        return dist * self.log_gamma()[:, None, None]

    def forward(self, hw_shape: Tuple[int, int], decomposed: bool,
                dtype: Optional[torch.dtype] = None) -> RelPos:
        """((sin, cos), masks) for an H x W map: sin, cos (H, W, D); masks (mask_h (N, H, H),
        mask_w (N, W, W)) for the decomposed retention, or one (N, HW, HW) mask for the whole-map
        retention. Computed every call, as in the official code, in float32 (float64
        for a float64 module) whatever the module's dtype, then cast to ``dtype`` (default: as
        computed): the compute dtype, so that the blocks of a stage share one copy (an SDPA under
        autocast would cast the mask again in every block, and keep each copy for backward)."""
        h, w = hw_shape  # not int(): an exporter's symbolic sizes must stay symbolic
        masks = (self.decay_1d(h), self.decay_1d(w)) if decomposed else (self.decay_2d(h, w), )
        sin, cos, *masks = (t if dtype is None else t.to(dtype) for t in (*self.rotary(h, w), *masks))
        return (sin, cos), (tuple(masks) if decomposed else masks[0])


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype the linear layers compute ``x`` in: autocast's where it is on for the device of
    ``x`` and would cast ``x`` (float64 stays), else that of ``x``."""
    enabled, dtype = autocast_state(x.device.type)
    return dtype if enabled and x.dtype in (torch.float32, torch.float16, torch.bfloat16) else x.dtype


def row_column_retention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask_h: torch.Tensor,
                         mask_w: torch.Tensor) -> torch.Tensor:
    """Decomposed retention (official ``VisionRetentionChunk``): ``softmax(q k^T + M_w) v`` along
    each row, then ``softmax(q k^T + M_h)`` of that along each column
    (:func:`restv2_mm.ops.column_attention`).

    Shape:
        q, k, v (B, H, W, N, D) (k scaled); mask_h (N, H, H), mask_w (N, W, W) -> (B, H, W, N*D).
    """
    b, h, w, n, d = q.shape

    def by_rows(t):  # (B, H, W, N, D) -> (B*H, N, W, D), a view
        return t.reshape(b * h, w, n, d).transpose(1, 2)

    rows = attention(by_rows(q), by_rows(k), by_rows(v), mask_w.unsqueeze(0), scale=1.)
    rows = rows.transpose(1, 2).reshape(b, h, w, n, d)
    return column_attention(q, k, rows, mask_h.unsqueeze(0)).reshape(b, h, w, n * d)


def whole_map_retention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        mask: torch.Tensor) -> torch.Tensor:
    """Retention over the whole map (official ``VisionRetentionAll``): ``softmax(q k^T + M) v``
    over all H*W tokens, on (B, N, HW, D) views.

    Shape:
        q, k, v (B, H, W, N, D) (k scaled); mask (N, HW, HW) -> (B, H, W, N*D).
    """
    b, h, w, n, d = q.shape

    def flat(t):  # (B, H, W, N, D) -> (B, N, HW, D), a view
        return t.reshape(b, h * w, n, d).transpose(1, 2)

    out = attention(flat(q), flat(k), flat(v), mask.unsqueeze(0), scale=1.)
    return out.transpose(1, 2).reshape(b, h, w, n * d)


class VisionRetention(nn.Module):
    """Manhattan self-attention (ReSA) of RMT, decomposed or over the whole map.

    ``q, k`` turned by the rotary position (:func:`restv2_mm.ops.rotary`), ``k`` scaled by
    D ** -0.5; then :func:`row_column_retention` (official ``VisionRetentionChunk``, the early
    stages) or :func:`whole_map_retention` (official ``VisionRetentionAll``), plus the local
    context enhancement, a 5x5 depth-wise conv of v (``lepe``), before ``out_proj``. Module names
    are the official ones.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads N.
        decomposed (bool): Row-then-column retention instead of the whole map.

    Shape:
        x (B, H, W, C) and ``rel_pos`` from :class:`RetentionRelPos2d` for (H, W) -> (B, H, W, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, decomposed: bool):
        super().__init__()
        self.num_heads = num_heads
        self.decomposed = decomposed
        self.scaling = (embed_dims // num_heads) ** -0.5
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.v_proj = nn.Linear(embed_dims, embed_dims)
        self.lepe = DWConv2d(embed_dims, 5)
        self.out_proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: torch.Tensor, rel_pos: RelPos) -> torch.Tensor:
        b, h, w, c = x.shape
        n = self.num_heads
        (sin, cos), masks = rel_pos
        sin, cos = sin.unsqueeze(2), cos.unsqueeze(2)  # (H, W, 1, D): the same for every head
        v = self.v_proj(x)
        lepe = self.lepe(v)
        q = rotary(self.q_proj(x).view(b, h, w, n, -1), sin, cos)
        k = rotary(self.k_proj(x).view(b, h, w, n, -1), sin, cos, self.scaling)
        v = v.view(b, h, w, n, -1)
        if self.decomposed:
            out = row_column_retention(q, k, v, *masks)
        else:
            out = whole_map_retention(q, k, v, masks)
        return self.out_proj(out + lepe)
