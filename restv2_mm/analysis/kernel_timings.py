"""Side-by-side timings of single kernels, a fast path against its plain form (best of 10 calls
after one warm-up, ms): ``--micro`` of ``tools/analysis_tools/profile_restv2.py`` and
``profile_rmt.py``; and of a whole forward with each fast path left out in turn
(:func:`fast_path_ablation`, ``profile_restv2.py --ablate``).

- :func:`restv2_kernel_timings`: at stage 1 of ResTv2-T on an 800x1344 input (67,200 tokens,
  C = 96), oneDNN's fused linear + GELU and linear + add (``mkldnn._linear_pointwise``) against the
  plain ops, and the Up(V) branch of each stage (depth-wise conv C -> r*r*C, PixelShuffle(r), back
  to tokens) in NCHW against channels-last.
- :func:`rotary_timings`: RMT's rotary position of stage-1 q (4 heads of 16 channels) at each
  layout of :data:`restv2_mm.analysis.RMT_LAYOUTS`, forward and forward + backward: the official
  ``theta_shift`` (two slices, a negation, a stack, two products and a sum; the reference of
  :func:`restv2_mm.ops.rotary`) against ours, one complex product per channel pair (its fast path).
"""
from typing import Callable, List

import torch
import torch.nn.functional as F

from ..models.rest import ResTv2
from ..models.rmt import RetentionRelPos2d
from ..ops import FAST_PATHS, fast_path, fast_path_name, rotary, without_fast_paths
from .eager_reference import eager_forward
from .latency import measure_interleaved, measure_latency
from .rmt_layouts import RMT_LAYOUTS


def best_ms(fn: Callable[[], object], repeat: int = 10) -> float:
    """The fastest of ``repeat`` calls of ``fn`` after one warm-up, in ms."""
    return measure_latency(fn, warmup=1, repeat=repeat)['min_ms']


def restv2_kernel_timings() -> dict:
    """``linear``: ``[(name, plain ms, fused ms)]``; ``up_v``: ``[(C, r, NCHW ms, channels-last
    ms)]`` (see the module docstring)."""
    torch.manual_seed(0)
    linear = torch.ops.mkldnn._linear_pointwise
    x, fc1, fc2 = torch.randn(67200, 96), torch.nn.Linear(96, 384), torch.nn.Linear(384, 96)
    h, res = torch.randn(67200, 384), torch.randn(67200, 96)
    with torch.no_grad():
        out = dict(linear=[
            ('fc1 + GELU', best_ms(lambda: F.gelu(fc1(x))),
             best_ms(lambda: linear(x, fc1.weight, fc1.bias, 'gelu', [], 'none'))),
            ('fc2 + residual', best_ms(lambda: fc2(h) + res),
             best_ms(lambda: linear.binary(h, res, fc2.weight, fc2.bias, 'add')))], up_v=[])
        for c, r in ((96, 8), (192, 4), (384, 2), (768, 1)):
            conv, shuffle = torch.nn.Conv2d(c, c * r * r, 3, padding=1, groups=c), torch.nn.PixelShuffle(r)
            v = torch.randn(1, c, 25, 42)
            v_cl = v.contiguous(memory_format=torch.channels_last)
            out['up_v'].append((
                c, r, best_ms(lambda: shuffle(conv(v)).flatten(2).transpose(1, 2).contiguous()),
                best_ms(lambda: shuffle(conv(v_cl)).permute(0, 2, 3, 1).reshape(1, -1, c))))
    return out


def render_restv2_kernel_timings(timings: dict) -> str:
    """The text table of :func:`restv2_kernel_timings`."""
    lines = ['stage 1 (67,200 tokens, C=96)      plain ms   fused ms']
    lines += [f'{name:36s}{plain:8.1f}   {fused:8.1f}' for name, plain, fused in timings['linear']]
    lines.append('Up(V) branch: dw conv C->r*r*C, PixelShuffle(r), to tokens   NCHW ms   channels-last ms')
    lines += [f'C={c:4d} r={r}' + ' ' * 50 + f'{nchw:7.1f}   {cl:7.1f}' for c, r, nchw, cl in timings['up_v']]
    return '\n'.join(lines) + '\n'


def fast_path_ablation(model: torch.nn.Module, x: torch.Tensor, repeat: int = 5,
                       warmup: int = 1) -> List[tuple]:
    """What each fast path of :data:`restv2_mm.ops.FAST_PATHS` buys in one model's forward:
    ``model(x)`` under ``no_grad`` with every fast path on, with each one left out
    (:func:`restv2_mm.ops.without_fast_paths`; the op then takes its next path or its
    reference), with all off, and the eager reference (:func:`eager_forward`, ResTv2 only), timed
    side by side in interleaved rounds (:func:`measure_interleaved`). A fast path whose condition
    never holds in this forward (a training-only one, say) measures as 'all on', within noise.

    Args:
        model: A backbone in eval mode; ``x``: its input (N, 3, H, W).
        repeat, warmup: Timed and untimed rounds.

    Returns:
        ``[(variant, median ms, min ms, max ms)]``, 'all on' first.
    """
    variants = [('all on', lambda: model(x))]
    for path in FAST_PATHS:
        name = fast_path_name(path)
        variants.append((f'without {name}', lambda name=name: _left_out(model, x, name)))
    variants.append(('all off', lambda: _all_off(model, x)))
    if isinstance(model, ResTv2):
        variants.append(('eager reference', lambda: eager_forward(model, x)))
    with torch.no_grad():
        times = measure_interleaved([fn for _, fn in variants], warmup=warmup, repeat=repeat)
    return [(name, t['median_ms'], t['min_ms'], t['max_ms']) for (name, _), t in zip(variants, times)]


def _left_out(model, x, name):
    with without_fast_paths(name):
        return model(x)


def _all_off(model, x):
    with fast_path(False):
        return model(x)


def render_fast_path_ablation(rows: List[tuple]) -> str:
    """The text table of :func:`fast_path_ablation`, each median also as a ratio to 'all on'."""
    base, width = rows[0][1], max(len(row[0]) for row in rows) + 2
    lines = [f'{"variant":{width}s}{"median ms":>10s}{"min":>9s}{"max":>9s}{"/ all on":>10s}']
    lines += [f'{name:{width}s}{med:10.1f}{lo:9.1f}{hi:9.1f}{med / base:10.2f}' for name, med, lo, hi in rows]
    return '\n'.join(lines) + '\n'


def rotary_timings() -> List[tuple]:
    """``[(layout, 'BxHxWx64', official fwd, ours fwd, official fwd+bwd, ours fwd+bwd)]`` in ms,
    per layout of :data:`restv2_mm.analysis.RMT_LAYOUTS` (see the module docstring)."""
    torch.manual_seed(0)
    rows = []
    for size, (batch, h, w, _) in RMT_LAYOUTS.items():
        h, w = h // 4, w // 4
        sin, cos = RetentionRelPos2d(64, 4, 2, 4).rotary(h, w)
        x = torch.randn(batch, 4, h, w, 16, requires_grad=True)  # the official (B, N, H, W, D)
        x_ours = x.detach().permute(0, 2, 3, 1, 4).contiguous().requires_grad_()  # (B, H, W, N, D)
        grad, grad_ours = torch.randn_like(x), torch.randn_like(x_ours)
        times = []
        def official(t):
            with fast_path(False):
                return rotary(t, sin, cos)

        def ours(t):  # the tables broadcast over the heads
            with fast_path(True):
                return rotary(t, sin.unsqueeze(2), cos.unsqueeze(2))
        for fn, t, g in ((official, x, grad), (ours, x_ours, grad_ours)):
            with torch.no_grad():
                times.append(best_ms(lambda: fn(t)))
            times.append(best_ms(lambda: fn(t).backward(g)))
        rows.append((size, f'{batch}x{h}x{w}x64', times[0], times[2], times[1], times[3]))
    return rows


def render_rotary_timings(rows: List[tuple]) -> str:
    """The text table of :func:`rotary_timings`."""
    lines = ['rotary of stage-1 q        official fwd   ours fwd   official fwd+bwd   ours fwd+bwd']
    lines += [f'{size:9s} {shape}'.ljust(27) + f'{a:12.2f} {b:10.2f} {c:18.2f} {d:14.2f}'
              for size, shape, a, b, c, d in rows]
    return '\n'.join(lines) + '\n'
