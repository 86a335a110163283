"""The one table of fast paths, and the ops the models call, which run them.

Each op (:func:`attention`, :func:`mlp`, ...) has a plain-PyTorch reference and, in
:data:`FAST_PATHS`, the fast paths that may replace it: the function that runs instead, the
condition under which it does (code, and the line that says it), and the inputs its test runs it
on. An op takes the first of its fast paths whose condition holds for its arguments, while the
switch (:mod:`.switch`) has the fast paths on; else its reference. Nothing else decides which
kernel runs. ``tests/test_ops/test_fast_paths.py`` runs every entry against its reference on its
inputs (values and gradients, float64 where the path allows); ``docs/contributing.md`` shows the
table (``python tools/misc/fast_paths.py --table``).
"""
import contextlib
import contextvars
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterator, Optional, Tuple

import torch
from torch import nn

from ..utils.report import markdown_table
from .kernels.attention import attention_example, attention_reference, sdpa, sdpa_runs
from .kernels.column_attention import (
                               column_attention_batched,
                               column_attention_example,
                               column_attention_per_image,
                               column_attention_per_image_runs,
)
from .kernels.conv_mlp import (
                       conv_mlp_example,
                       conv_mlp_onednn,
                       conv_mlp_onednn_runs,
                       conv_mlp_recomputed,
                       conv_mlp_recomputed_folded,
                       conv_mlp_recomputed_folded_runs,
                       conv_mlp_recomputed_runs,
                       conv_mlp_reference,
)
from .kernels.dwconv_residual import (
                              check_dwconv,
                              dwconv_residual_example,
                              dwconv_residual_folded,
                              dwconv_residual_folded_runs,
                              dwconv_residual_reference,
)
from .kernels.layout import channels_last_example, keep_layout, to_channels_last, to_channels_last_runs
from .kernels.mlp import (
                  mlp_example,
                  mlp_onednn,
                  mlp_onednn_runs,
                  mlp_recomputed,
                  mlp_recomputed_runs,
                  mlp_reference,
)
from .kernels.norm_act import (
                       batch_norm_act_conv_example,
                       batch_norm_act_conv_recomputed,
                       batch_norm_act_conv_recomputed_runs,
                       batch_norm_act_conv_reference,
)
from .kernels.rotary import rotary_complex, rotary_complex_runs, rotary_example, rotary_reference
from .switch import fast_path_enabled


@dataclass(frozen=True)
class FastPath:
    """One fast path of an op.

    Attributes:
        op: The op of :mod:`restv2_mm.ops` it replaces.
        name: What runs instead, in a few words.
        fast: The function that runs, with the op's positional arguments.
        runs: The condition, with the same arguments: True where ``fast`` may run (fast paths on).
        when: The condition in one line.
        reference: The op's plain-PyTorch reference, with the same arguments.
        example: ``example(dtype)``: test inputs of that dtype on which ``runs`` holds (and no
            earlier fast path of the op); the tensors to differentiate require gradients.
        dtype: The dtype its test runs in: float64 where the path allows.
        grad: Whether the path is a training path, tested with autograd recording and for its
            gradients (of those tensors and of the modules' parameters); else under no_grad.
    """

    op: str
    name: str
    fast: Callable
    runs: Callable[..., bool]
    when: str
    reference: Callable
    example: Optional[Callable[[torch.dtype], tuple]]
    dtype: torch.dtype = torch.float64
    grad: bool = False


FAST_PATHS: Tuple[FastPath, ...] = (
    FastPath('attention', 'fused SDPA', sdpa, sdpa_runs,
             'no float mask, a GPU, or on the CPU a 4-D float mask on 4-D inputs (torch >= 2.3)',
             attention_reference, attention_example, grad=True),
    FastPath('column_attention', 'one image at a time', column_attention_per_image,
             column_attention_per_image_runs, 'CPU training (autograd recording), more than one '
             'image', column_attention_batched, column_attention_example, grad=True),
    FastPath('mlp', 'oneDNN fc1 + GELU', mlp_onednn, mlp_onednn_runs,
             'exact GELU, fp32 CPU inference without autocast, oneDNN present',
             mlp_reference, mlp_example, dtype=torch.float32),
    FastPath('mlp', 'GELU recomputed in backward', mlp_recomputed, mlp_recomputed_runs,
             'exact GELU, autograd recording', mlp_reference, mlp_example, grad=True),
    FastPath('conv_mlp', 'oneDNN fc1 + GELU, identity in the conv kernel', conv_mlp_onednn,
             conv_mlp_onednn_runs, 'exact GELU, fp32 CPU inference without autocast, oneDNN '
             'present', conv_mlp_reference, conv_mlp_example, dtype=torch.float32),
    FastPath('conv_mlp', 'hidden maps recomputed in backward, identity in the conv kernel',
             conv_mlp_recomputed_folded, conv_mlp_recomputed_folded_runs,
             'exact GELU, autograd recording, fp32/fp64 without autocast', conv_mlp_reference,
             conv_mlp_example, grad=True),
    FastPath('conv_mlp', 'hidden maps recomputed in backward', conv_mlp_recomputed,
             conv_mlp_recomputed_runs, 'exact GELU, autograd recording (other dtypes, autocast)',
             conv_mlp_reference, conv_mlp_example, dtype=torch.bfloat16, grad=True),
    FastPath('dwconv_residual', 'identity in the conv kernel', dwconv_residual_folded,
             dwconv_residual_folded_runs, 'fp32/fp64 input of the weight dtype, no autocast',
             dwconv_residual_reference, dwconv_residual_example, grad=True),
    FastPath('batch_norm_act_conv', "only the norm's input kept for backward",
             batch_norm_act_conv_recomputed, batch_norm_act_conv_recomputed_runs,
             'autograd recording; affine BatchNorm2d, exact GELU, zero-padded Conv2d; fp32/fp64 '
             'without autocast', batch_norm_act_conv_reference, batch_norm_act_conv_example,
             grad=True),
    FastPath('rotary', 'one complex product per channel pair', rotary_complex,
             rotary_complex_runs, 'contiguous fp32/fp64 input of the tables dtype, not under '
             'torch.compile', rotary_reference, rotary_example, grad=True),
    FastPath('channels_last', 'channels-last memory', to_channels_last, to_channels_last_runs,
             'a 4-D map', keep_layout, channels_last_example, grad=True),
)

_PATHS: Dict[str, Tuple[FastPath, ...]] = {}
for _path in FAST_PATHS:
    _PATHS[_path.op] = _PATHS.get(_path.op, ()) + (_path, )
_REFERENCES = {op: paths[0].reference for op, paths in _PATHS.items()}
if any(p.reference is not _REFERENCES[p.op] for p in FAST_PATHS):
    raise ValueError('the fast paths of an op must name the same reference')


# The fast paths left out in this thread (names as in fast_path_name), by without_fast_paths.
_LEFT_OUT: contextvars.ContextVar[FrozenSet[str]] = contextvars.ContextVar('restv2_left_out',
                                                                         default=frozenset())


def fast_path_name(path: FastPath) -> str:
    """``'op: name'``, e.g. ``'mlp: oneDNN fc1 + GELU'``: how :func:`without_fast_paths` and the
    tests name an entry of :data:`FAST_PATHS`."""
    return f'{path.op}: {path.name}'


@contextlib.contextmanager
def without_fast_paths(*names: str) -> Iterator[None]:
    """Leave the named fast paths out inside the ``with`` block, in this thread: each op takes
    the next of its fast paths whose condition holds, or its reference. For measuring what one
    fast path buys (``profile_restv2.py --ablate``); the others keep running.

    Args:
        names: Entries of :data:`FAST_PATHS` by :func:`fast_path_name`.

    Raises:
        ValueError: a name that is no entry; the message lists the names.
    """
    known = [fast_path_name(p) for p in FAST_PATHS]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f'names must be fast paths of FAST_PATHS, got {unknown}; they are {known}')
    token = _LEFT_OUT.set(_LEFT_OUT.get() | frozenset(names))
    try:
        yield
    finally:
        _LEFT_OUT.reset(token)


def choose(op: str, *args) -> Optional[FastPath]:
    """The fast path ``op`` takes for ``args`` now, or None where it runs its reference."""
    if fast_path_enabled():
        left_out = _LEFT_OUT.get()
        for path in _PATHS[op]:
            if (not left_out or fast_path_name(path) not in left_out) and path.runs(*args):
                return path
    return None


def _run(op: str, *args):
    path = choose(op, *args)
    return (_REFERENCES[op] if path is None else path.fast)(*args)


def fast_path_table() -> str:
    """:data:`FAST_PATHS` as a markdown table: op, fast path, when it runs, reference, test."""
    def name(fn: Callable) -> str:
        return f'`{fn.__module__.rsplit(".", 1)[-1]}.{fn.__name__}`'

    def doc(fn: Optional[Callable]) -> str:
        return ' '.join((fn.__doc__ or '').split()) if fn is not None else 'none'

    rows = [(f'`{p.op}`', p.name, p.when, name(p.reference),
             f'{doc(p.example).rstrip(".")}; {str(p.dtype).split(".")[-1]}'
             + (', with gradients' if p.grad else ''))
            for p in FAST_PATHS]
    return markdown_table(('op', 'fast path', 'runs when', 'reference', 'test inputs'), rows)


# ----------------------------------------------------------------------------------------- ops
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
              scale: Optional[float] = None) -> torch.Tensor:
    """``softmax(q @ k^T * scale + attn_mask) @ v`` (ResTv2 eq. 2; RMT's retention with its decay
    as ``attn_mask``). ``dropout_p`` applies as given (pass 0 outside training).

    Shape:
        q (..., L, E), k (..., S, E), v (..., S, Ev), attn_mask broadcastable to (..., L, S)
        -> (..., L, Ev). ``scale`` defaults to E^-1/2.
    """
    return _run('attention', q, k, v, attn_mask, dropout_p, scale)


def column_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     attn_mask: torch.Tensor) -> torch.Tensor:
    """:func:`attention` along each column of each map, scale 1: for image b, column x and head
    i, ``softmax(q k^T + attn_mask[0, i]) v`` over the H rows (RMT's decomposed retention, official
    ``VisionRetentionChunk``, its second step).

    Shape:
        q, k, v (B, H, W, N, D); attn_mask (1, N, H, H) -> (B, H, W, N, D).
    """
    return _run('column_attention', q, k, v, attn_mask)


def mlp(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear) -> torch.Tensor:
    """``fc2(act(fc1(x)))``, the transformer MLP.

    Shape:
        (..., C) -> (..., C_out).
    """
    return _run('mlp', x, fc1, act, fc2)


def conv_mlp(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
             fc2: nn.Linear) -> torch.Tensor:
    """``fc2(g + dwconv(g))`` with ``g = act(fc1(x))``: RMT's FFN (official
    ``FeedForwardNetwork``).

    Args:
        x: Channels-last map (N, H, W, C).
        fc1, fc2: The linears, C -> rC -> C_out.
        act: The activation.
        dwconv: Depth-wise ``nn.Conv2d`` on rC channels, stride 1, padding k // 2.

    Shape:
        (N, H, W, C) -> (N, H, W, C_out).
    """
    return _run('conv_mlp', x, fc1, act, dwconv, fc2)


def dwconv_residual(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``x + conv(x)`` for a depth-wise ``k x k`` conv (stride 1, padding k // 2) of a
    channels-last map: RMT's CPE.

    Shape:
        (N, H, W, C) -> (N, H, W, C).

    Raises:
        ValueError: ``conv`` is not such a conv for the C channels of ``x``.
    """
    check_dwconv(x, conv)
    return _run('dwconv_residual', x, conv)


def batch_norm_act_conv(x: torch.Tensor, norm: nn.Module, act: nn.Module,
                        conv: nn.Module) -> torch.Tensor:
    """``conv(act(norm(x)))``, a norm, its activation and the next conv of a stem.

    Shape:
        x (N, C, H, W) -> (N, C', H', W'), as ``conv``.
    """
    return _run('batch_norm_act_conv', x, norm, act, conv)


def rotary(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor,
           scale: float = 1.) -> torch.Tensor:
    """RMT's rotary position of ``x * scale``: each channel pair (x0, x1) turned by its angle,
    (x0 cos - x1 sin, x1 cos + x0 sin) (official ``theta_shift``).

    Shape:
        x (..., D), D even; sin, cos broadcastable to x, each angle repeated for its pair.
    """
    return _run('rotary', x, sin, cos, scale)


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` (N, C, H, W) in channels-last memory on the fast path, unchanged on the reference."""
    return _run('channels_last', x)
