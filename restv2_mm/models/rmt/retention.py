"""RMT's retention: the Manhattan decay masks, the rotary position and the retention attention.

RMT (Retentive Networks Meet Vision Transformers, CVPR 2024) adds to softmax attention a per-head
spatial decay: head i sees a token at Manhattan distance d with weight gamma_i ** d, where
gamma_i = 1 - 2 ** (-a - (b - a) * i / N) (supplement E, Eq. 1 and Table 4). The official code
(``RetNetRelPos2d``, ``VisionRetentionChunk``, ``VisionRetentionAll``, ``theta_shift`` in
``classfication_release/RMT.py``) adds ``d * log(gamma_i)`` to the logits before the softmax, and
rotates q and k by a rotary position over the raster index of the map; this module computes the
same.
"""
from collections import OrderedDict
from typing import Optional, Tuple, Union

import torch
from torch import nn

from ...ops import attention_reference, fast_path_enabled, linear_add
from ...ops.retention import decay_attention, fused_decay_attention
from ...utils.torch_compat import is_compiling
from ..common.dwconv import DWConv2d

RelPos = Tuple[Tuple[torch.Tensor, torch.Tensor],
               Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]]
# Map sizes whose tables a RetentionRelPos2d keeps (one per input size a stage sees).
CACHED_SIZES = 4


def rotate_every_two(x: torch.Tensor) -> torch.Tensor:
    """Channel pairs (x0, x1) -> (-x1, x0): the quarter turn of a rotary embedding.

    Shape:
        (..., D) -> (..., D), D even.
    """
    even, odd = x[..., ::2], x[..., 1::2]
    return torch.stack((-odd, even), dim=-1).flatten(-2)


def theta_shift(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotary position: each channel pair of ``x`` rotated by its angle (official ``theta_shift``).

    Shape:
        x (..., H, W, D); sin, cos (H, W, D), broadcast over the leading dims.
    """
    return x * cos + rotate_every_two(x) * sin


def _signed_sin(sin: torch.Tensor) -> torch.Tensor:
    """``sin`` with the even channels negated: ``rotate_every_two(x) * sin`` equals
    ``swap_pairs(x) * _signed_sin(sin)`` bit for bit (only the sign moves)."""
    return sin * sin.new_tensor([-1., 1.]).repeat(sin.shape[-1] // 2)


def _theta_shift_swapped(x: torch.Tensor, signed_sin: torch.Tensor,
                         cos: torch.Tensor) -> torch.Tensor:
    """:func:`theta_shift` with one copy of ``x`` (its channel pairs swapped) instead of the two
    slices, the negation and the stack of :func:`rotate_every_two`, and the last product fused
    into the sum (``addcmul``); the same values up to rounding. Only the tables are saved for
    backward.

    Shape:
        x (..., D); signed_sin (:func:`_signed_sin`), cos broadcast to x.
    """
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
    return torch.addcmul(x * cos, swapped, signed_sin)


def rotate_pairs(x: torch.Tensor, turn: torch.Tensor) -> torch.Tensor:
    """:func:`theta_shift` as one complex product: each channel pair (x0, x1) read as x0 + i x1 and
    multiplied by ``turn`` = cos + i sin, which gives (x0 cos - x1 sin, x1 cos + x0 sin), the
    official rotation, in one pass over ``x`` (the real form takes a swapped copy, two products
    and a sum) and one in backward. float32/float64 only (no complex bf16).

    Shape:
        x (..., D) with dense channel pairs; turn complex (..., D / 2) broadcast to x's pairs.
    """
    return torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * turn).flatten(-2)


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

    def log_gamma(self) -> torch.Tensor:
        """log(gamma_i ** e) per head, shape (N, )."""
        return self.decay if self.decay_exponent == 1 else self.decay * self.decay_exponent

    def rotary(self, h: int, w: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """(sin, cos), each (H, W, D): the angles grow with the raster index y * W + x, as in the
        official code (a 1-D rotary over the flattened map, not separate row and column angles)."""
        index = torch.arange(h * w).to(self.decay)
        phase = index[:, None] * self.angle[None, :]
        return phase.sin().reshape(h, w, -1), phase.cos().reshape(h, w, -1)

    def decay_1d(self, length: int) -> torch.Tensor:
        """|i - j| * log(gamma) along one axis, shape (N, L, L)."""
        index = torch.arange(length).to(self.decay)
        return (index[:, None] - index[None, :]).abs() * self.log_gamma()[:, None, None]

    def decay_2d(self, h: int, w: int) -> torch.Tensor:
        """Manhattan distance times log(gamma) between all raster positions, shape (N, HW, HW)."""
        rows, cols = torch.arange(h).to(self.decay), torch.arange(w).to(self.decay)
        dist_h = (rows[:, None] - rows[None, :]).abs()
        dist_w = (cols[:, None] - cols[None, :]).abs()
        dist = (dist_h[:, None, :, None] + dist_w[None, :, None, :]).reshape(h * w, h * w)
        return dist * self.log_gamma()[:, None, None]

    def tables(self, h: int, w: int, decomposed: bool) -> RelPos:
        """((sin, cos), masks), computed: see :meth:`forward`."""
        masks = (self.decay_1d(h), self.decay_1d(w)) if decomposed else self.decay_2d(h, w)
        return self.rotary(h, w), masks

    def forward(self, hw_shape: Tuple[int, int], decomposed: bool) -> RelPos:
        """((sin, cos), masks) for an H x W map: masks (mask_h (N, H, H), mask_w (N, W, W)) for
        the decomposed retention, or one (N, HW, HW) mask for the whole-map retention.

        On the fast path the tables of the last :data:`CACHED_SIZES` map sizes are kept, not
        rebuilt per forward. They are plain attributes, not buffers (the state dict is the
        official one); an entry is keyed by the size, the layout, inference mode (inference
        tensors cannot be saved for a later backward) and the identity, version, dtype and
        device of ``decay`` and ``angle``, so loading weights, ``.to()``/``.double()`` or an
        in-place change never reuse stale tables; ``.to()`` and copies drop the cache. Tracing,
        ``torch.compile`` and the reference path compute the tables every call.
        """
        h, w = hw_shape  # not int(): an exporter's symbolic sizes must stay symbolic
        if not fast_path_enabled() or is_compiling():
            return self.tables(h, w, decomposed)
        h, w = int(h), int(w)
        key = (h, w, bool(decomposed), torch.is_inference_mode_enabled(), self.decay_exponent,
               *((t.data_ptr(), t._version, t.dtype, t.device) for t in (self.decay, self.angle)))
        cache = self._cache()
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        cache[key] = value = self.tables(h, w, decomposed)
        while len(cache) > CACHED_SIZES:
            cache.popitem(last=False)
        return value

    def _cache(self) -> 'OrderedDict[tuple, RelPos]':
        if '_table_cache' not in self.__dict__:
            self.__dict__['_table_cache'] = OrderedDict()
        return self.__dict__['_table_cache']

    def _apply(self, fn, *args, **kwargs):
        self._cache().clear()  # moved or cast buffers: the old tables would only hold memory
        return super()._apply(fn, *args, **kwargs)

    def __getstate__(self):
        state = self.__dict__.copy()  # copies and pickles start without the cache
        state.pop('_table_cache', None)
        return state


class VisionRetention(nn.Module):
    """Manhattan self-attention (ReSA) of RMT, decomposed or over the whole map.

    ``q, k`` rotated by :func:`theta_shift`; ``k`` scaled by D ** -0.5; then

    - whole map (official ``VisionRetentionAll``): ``softmax(q k^T + M) v`` over all H*W tokens,
      M the (N, HW, HW) Manhattan decay mask;
    - decomposed (official ``VisionRetentionChunk``, the early stages): first along each row,
      ``softmax(q k^T + M_w) v``, then along each column on that result, with ``M_h``.

    plus the local context enhancement, a 5x5 depth-wise conv of v (``lepe``), before
    ``out_proj``. Module names are the official ones.

    Where :func:`restv2_mm.ops.retention.fused_decay_attention` (fast paths on; on the CPU torch
    >= 2.3) the attentions are fused calls (:func:`restv2_mm.ops.retention.decay_attention`) on
    4-D views: rows as (B*H, N, W, D), columns image by image as (W, N, H, D), the whole map as
    (B, N, HW, D), so that neither an (L x L) attention matrix nor a copy of q, k or v is kept
    for backward. Otherwise the official computation runs as written
    (explicit matmuls, the attention matrix kept for backward): the reference.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads N.
        decomposed (bool): Row-then-column retention instead of the whole map.

    Shape:
        x (B, H, W, C) and ``rel_pos`` from :class:`RetentionRelPos2d` for (H, W) -> (B, H, W, C);
        ``forward(x, rel_pos, residual)`` returns ``residual + retention(x)``.
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

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        return x.view(b, h, w, self.num_heads, -1).permute(0, 3, 1, 2, 4)  # (B, N, H, W, D)

    def forward(self, x: torch.Tensor, rel_pos: RelPos,
                residual: Optional[torch.Tensor] = None) -> torch.Tensor:
        if fused_decay_attention(x.device):
            return self._forward_fused(x, rel_pos, residual)
        out = self.forward_reference(x, rel_pos)
        return out if residual is None else residual + out

    def _forward_fused(self, x: torch.Tensor, rel_pos: RelPos,
                       residual: Optional[torch.Tensor]) -> torch.Tensor:
        b, h, w, c = x.shape
        n, d = self.num_heads, c // self.num_heads
        (sin, cos), masks = rel_pos
        v = self.v_proj(x)
        lepe = self.lepe(v)
        q, k = self.q_proj(x).view(b, h, w, n, d), self.k_proj(x).view(b, h, w, n, d)
        # Tables (H, W, D) -> (H, W, 1, D): broadcast over the heads of a (B, H, W, N, D) view;
        # k's scaling goes into the (small) tables instead of a pass over k.
        if q.dtype == cos.dtype and q.dtype in (torch.float32, torch.float64) \
                and not is_compiling():
            turn = torch.complex(cos[..., ::2], sin[..., ::2]).unsqueeze(2)
            q, k = rotate_pairs(q, turn), rotate_pairs(k, turn * self.scaling)
        else:
            sin, cos = _signed_sin(sin).unsqueeze(2), cos.unsqueeze(2)
            q = _theta_shift_swapped(q, sin, cos)
            k = _theta_shift_swapped(k, sin * self.scaling, cos * self.scaling)
        v = v.view(b, h, w, n, d)
        if self.decomposed:
            mask_h, mask_w = masks

            def by_rows(t):  # (B, H, W, N, D) -> (B*H, N, W, D), a view
                return t.reshape(b * h, w, n, d).transpose(1, 2)

            def by_cols(t):  # (H, W, N, D) of one image -> (W, N, H, D), a view
                return t.permute(1, 2, 0, 3)

            rows = decay_attention(by_rows(q), by_rows(k), by_rows(v), mask_w)
            rows = rows.transpose(1, 2).reshape(b, h, w, n, d)
            # Columns image by image: (W, N, H, D) views of one image, where (B*W, N, H, D) would
            # be copies of q, k and the rows' output, kept for backward beside the originals.
            # unbind, not indexing: its backward stacks the B gradients once, where each q[i]
            # would fill a zero tensor of all of q.
            out = torch.stack([  # (B, W, H, N, D)
                decay_attention(by_cols(qi), by_cols(ki), by_cols(ri), mask_h).transpose(1, 2)
                for qi, ki, ri in zip(q.unbind(0), k.unbind(0), rows.unbind(0))])
            out = out.reshape(b, w, h, c).transpose(1, 2)
        else:
            def flat(t):  # (B, H, W, N, D) -> (B, N, HW, D), a view
                return t.reshape(b, h * w, n, d).transpose(1, 2)

            out = decay_attention(flat(q), flat(k), flat(v), masks)
            out = out.transpose(1, 2).reshape(b, h, w, c)
        return linear_add(out + lepe, self.out_proj, residual)

    def forward_reference(self, x: torch.Tensor, rel_pos: RelPos) -> torch.Tensor:
        """The official computation: explicit matmuls, the attention matrices materialised."""
        b, h, w, c = x.shape
        (sin, cos), masks = rel_pos
        v = self.v_proj(x)
        lepe = self.lepe(v)
        # k is scaled before the rotation, as in the official code (same float rounding).
        q = theta_shift(self._heads(self.q_proj(x)), sin, cos)
        k = theta_shift(self._heads(self.k_proj(x) * self.scaling), sin, cos)
        v = self._heads(v)
        if self.decomposed:
            mask_h, mask_w = masks
            rows = attention_reference(q, k, v, attn_mask=mask_w.unsqueeze(1), scale=1.)
            out = attention_reference(q.transpose(2, 3), k.transpose(2, 3), rows.transpose(2, 3),
                                      attn_mask=mask_h.unsqueeze(1), scale=1.)  # (B, N, W, H, D)
            out = out.permute(0, 3, 2, 1, 4)
        else:
            out = attention_reference(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3),
                                      attn_mask=masks, scale=1.)  # (B, N, HW, D)
            out = out.transpose(1, 2)
        return self.out_proj(out.reshape(b, h, w, c) + lepe)
