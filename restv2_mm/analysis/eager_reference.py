"""The eager reference ResTv2: the official code's computation, run on a ``ResTv2``'s weights.

What github.com/wofmanaf/ResT (``models/restv2.py``) does, written out op by op: EMSAv2 as
``softmax(q @ k^T * d^-1/2) @ v`` with the (N, heads, L, L / r^2) attention matrix materialised
(paper eq. 2), ``(B, N, C)`` tokens permuted to maps and back around every conv, the window styles
partitioned as Swin does (pad, view, permute, contiguous). It shares the weights of the model it
is given, so ``eager_forward(model, x)`` must equal ``model(x)``;
``tools/analysis_tools/benchmark.py`` times the two side by side and
``tests/test_analysis/test_eager_reference.py`` pins their equality. It is written independently
of :mod:`restv2_mm.ops` (whose references are plain PyTorch too) so that the two check each other.
"""
from typing import Tuple

import torch
import torch.nn.functional as F


def _attention(attn, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Official ``Attention.forward(x, H, W)`` (EMSAv2, paper eq. 2), with our crop for sizes
    that are not multiples of ``sr_ratio``."""
    b, n, c = x.shape
    heads, r = attn.num_heads, attn.sr_ratio
    q = attn.q(x).reshape(b, n, heads, c // heads).permute(0, 2, 1, 3)
    if r > 1:
        x_ = x.permute(0, 2, 1).reshape(b, c, h, w)
        x_ = attn.sr(x_)
        hk, wk = x_.shape[-2:]
        x_ = attn.sr_norm(x_.reshape(b, c, -1).permute(0, 2, 1))
    else:
        x_, hk, wk = x, h, w
    kv = attn.kv(x_).reshape(b, -1, 2, heads, c // heads).permute(2, 0, 3, 1, 4)
    k, v = kv[0], kv[1]
    a = (q @ k.transpose(-2, -1)) * (c // heads) ** -0.5
    a = a.softmax(dim=-1)
    out = (a @ v).transpose(1, 2).reshape(b, n, c)
    identity = attn.up(v.transpose(-1, -2).reshape(b, c, hk, wk))[:, :, :h, :w]
    identity = identity.flatten(2).transpose(1, 2)
    return attn.proj(out + attn.up_norm(identity))


def _windowed(blk, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Swin-style window partition around the official attention."""
    s = blk.window_size
    b, _, c = x.shape
    x = x.view(b, h, w, c)
    pad_b, pad_r = (s - h % s) % s, (s - w % s) % s
    x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
    hp, wp = h + pad_b, w + pad_r
    win = x.view(b, hp // s, s, wp // s, s, c).permute(0, 1, 3, 2, 4, 5).contiguous()
    win = _attention(blk.attn, win.view(-1, s * s, c), s, s)
    x = win.view(b, hp // s, wp // s, s, s, c).permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(b, hp, wp, c)[:, :h, :w, :].contiguous().view(b, h * w, c)


def _block(blk, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    y = blk.norm1(x)
    y = _attention(blk.attn, y, h, w) if blk.window_size is None else _windowed(blk, y, h, w)
    x = x + blk.drop_path(y)
    return x + blk.drop_path(blk.mlp.fc2(blk.mlp.act(blk.mlp.fc1(blk.norm2(x)))))


def _embed(embed, x: torch.Tensor) -> Tuple[torch.Tensor, int, int]:
    """Official ``ConvStem`` / ``PatchEmbed``: convs, PA (``x * sigmoid(dwconv(x))``), LN."""
    x = embed.proj(x)
    x = x * torch.sigmoid(embed.pos.pa_conv(x))
    b, c, h, w = x.shape
    return embed.norm(x.flatten(2).transpose(1, 2)), h, w


def eager_forward(model, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Run ``model`` (a :class:`restv2_mm.models.ResTv2`) the official, eager way.

    Shape:
        x (N, C, H, W) -> the same tuple of (N, C_i, H_i, W_i) maps as ``model(x)``.
    """
    outs = []
    b = x.shape[0]
    for i in range(4):
        embed = model.stem if i == 0 else getattr(model, f'patch_{i + 1}')
        t, h, w = _embed(embed, x)
        for blk in getattr(model, f'stage{i + 1}'):
            t = _block(blk, t, h, w)
        x = t.permute(0, 2, 1).reshape(b, -1, h, w)
        if model.style == 'cwin':
            x = x + getattr(model, f'cwin_conv{i + 1}')(x)
            t = x.flatten(2).transpose(1, 2)
        if i in model.out_indices:
            y = getattr(model, f'norm{i}')(t)
            outs.append(y.permute(0, 2, 1).reshape(b, -1, h, w).contiguous())
    return tuple(outs)
