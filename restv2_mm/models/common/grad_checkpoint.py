"""Gradient checkpointing of one module call: the ``with_cp`` of the backbones' blocks and
embeddings, full (recompute everything) or selective (keep the matmul outputs but the
MLPs' widening fc1).

Selective checkpointing is torch's own (``torch.utils.checkpoint.create_selective_checkpoint_contexts``):
during the forward, the outputs of the ops the policy names (:data:`SELECTIVE_POLICIES`; by
default the matrix multiplies of :data:`SAVED_OPS` but the MLPs' widening fc1, and fused
attention) are kept; everything else (LayerNorm, GELU, residual adds, the
depth-wise convs, PixelShuffle, layout copies: cheap, memory-bound, and what fills memory) is dropped
and recomputed in backward from the kept tensors. Gradients equal those without checkpointing.
It needs torch >= 2.4 (:data:`SELECTIVE_MIN_TORCH`); on an older torch, asking for it
(``with_cp='selective'``) raises :class:`RuntimeError` when the backbone is built, and the package
still imports.
"""
import contextlib
from typing import Any, Callable, Iterator, Union

import torch
import torch.utils.checkpoint as cp

CP_MODES = (False, True, 'full', 'selective')
# First torch with create_selective_checkpoint_contexts and CheckpointPolicy.
SELECTIVE_MIN_TORCH = '2.4'

_aten = torch.ops.aten
# Kept in selective mode: GEMMs (linear = addmm/mm after decomposition) and fused attention.
SAVED_OPS = tuple(getattr(_aten, name) for name in (
    'mm', 'addmm', 'bmm', '_scaled_dot_product_flash_attention_for_cpu',
    '_scaled_dot_product_flash_attention', '_scaled_dot_product_efficient_attention',
    '_scaled_dot_product_cudnn_attention') if hasattr(_aten, name))


def selective_available() -> bool:
    """Whether this torch has selective checkpointing (torch >= :data:`SELECTIVE_MIN_TORCH`)."""
    return hasattr(cp, 'create_selective_checkpoint_contexts') and hasattr(cp, 'CheckpointPolicy')


def require_selective() -> None:
    """Raises:
        RuntimeError: this torch has no selective checkpointing; names ``with_cp='selective'``,
            the torch version it needs and the one installed.
    """
    if not selective_available():
        raise RuntimeError(
            f"with_cp='selective' needs torch >= {SELECTIVE_MIN_TORCH} "
            f'(torch.utils.checkpoint.create_selective_checkpoint_contexts); this is torch '
            f"{torch.__version__}. Use with_cp='full' (or True), which works on every torch.")


def check_cp_mode(with_cp: Union[bool, str]) -> Union[bool, str]:
    """``with_cp`` as one of False, 'full', 'selective' (True means 'full').

    Raises:
        ValueError: another value, naming ``with_cp`` and the allowed ones.
        RuntimeError: ``'selective'`` on a torch older than :data:`SELECTIVE_MIN_TORCH`.
    """
    if with_cp not in CP_MODES or isinstance(with_cp, (int, float)) and \
            not isinstance(with_cp, bool):
        raise ValueError(f"with_cp must be False, True (= 'full') or 'selective', got {with_cp!r}")
    if with_cp == 'selective':
        require_selective()
    return 'full' if with_cp is True else with_cp


_GEMMS = tuple(getattr(_aten, name) for name in ('mm', 'addmm', 'bmm'))
# A linear whose output is wider than this many times its input is an MLP's first layer (fc1:
# 3C or 4C out of C); 'kv' projections (2C) and the rest stay below it.
WIDENING = 2


def _widening(op, args) -> bool:
    """Whether a GEMM (``mm(a, b)``, ``bmm(a, b)``, ``addmm(bias, a, b)``) widens its rows more
    than :data:`WIDENING` times: a (..., M, K) @ b (..., K, N) with N > WIDENING * K."""
    a, b = (args[1], args[2]) if op.overloadpacket is _aten.addmm else (args[0], args[1])
    return b.shape[-1] > WIDENING * a.shape[-1]


def _keep(saved: bool):
    return cp.CheckpointPolicy.MUST_SAVE if saved else cp.CheckpointPolicy.PREFER_RECOMPUTE


def _policy_gemm(ctx, op, *args, **kwargs):
    """Keep the outputs of :data:`SAVED_OPS` (every GEMM and fused attention), recompute the rest."""
    return _keep(op.overloadpacket in SAVED_OPS)


def _policy_narrow(ctx, op, *args, **kwargs):
    """As :func:`_policy_gemm`, but the widening GEMMs (the MLPs' fc1, whose (L, rC) output is the
    largest activation of a block) are recomputed too."""
    packet = op.overloadpacket
    return _keep(packet in SAVED_OPS and not (packet in _GEMMS and _widening(op, args)))


# Recomputing a GEMM costs 2K multiply-adds per element of its output (K: its inner width), so
# per byte freed the early stages' fc1 (K = C = 64..384) are the cheapest to recompute and the last
# stage's (K = 512 or 768) the dearest, while holding the least memory (a sixteenth of the map).
EARLY_MAX_K = 384


def _policy_early(ctx, op, *args, **kwargs):
    """As :func:`_policy_narrow`, but only the widening GEMMs of inner width K <=
    :data:`EARLY_MAX_K` (the fc1 of stages 1-3) are recomputed; the last stage's are kept."""
    packet = op.overloadpacket
    if packet in _GEMMS and _widening(op, args):
        a = args[1] if packet is _aten.addmm else args[0]
        return _keep(a.shape[-1] > EARLY_MAX_K)
    return _keep(packet in SAVED_OPS)


def _policy_attention(ctx, op, *args, **kwargs):
    """Keep only the fused attention's outputs (quadratic in the tokens); recompute every linear."""
    return _keep(op.overloadpacket in SAVED_OPS and op.overloadpacket not in _GEMMS)


# What ``with_cp='selective'`` keeps for backward, by name (docs/performance.md has the measured
# memory and step time of each).
SELECTIVE_POLICIES = {'gemm': _policy_gemm, 'narrow': _policy_narrow, 'early': _policy_early,
                      'attention': _policy_attention}
# ResTv2-T's one measured point within 0.6x the memory at 1.1x the time of no checkpointing
# (docs/checkpoint_policies_cpu.json, docs/performance.md).
DEFAULT_SELECTIVE_POLICY = 'narrow'
_active = [DEFAULT_SELECTIVE_POLICY]


@contextlib.contextmanager
def selective_policy(name: str) -> Iterator[None]:
    """Run ``with_cp='selective'`` with the policy ``name`` of :data:`SELECTIVE_POLICIES` inside
    the ``with`` block (forward and backward), e.g. to measure them against each other.

    Raises:
        ValueError: an unknown name, listing the known ones.
    """
    if name not in SELECTIVE_POLICIES:
        raise ValueError(f'selective policy must be one of {sorted(SELECTIVE_POLICIES)}, got '
                         f'{name!r}')
    _active.append(name)
    try:
        yield
    finally:
        _active.pop()


def _selective_context():
    """The forward and recompute contexts of selective checkpointing (``context_fn``)."""
    return cp.create_selective_checkpoint_contexts(SELECTIVE_POLICIES[_active[-1]])


def checkpointed(fn: Callable, *args: Any, with_cp: Union[bool, str]) -> Any:
    """``fn(*args)``, with its activations recomputed in backward where ``with_cp`` is ``'full'``
    (or True: everything) or ``'selective'`` (all but :data:`SAVED_OPS` outputs) and the first
    argument (a tensor) needs a gradient; a plain call otherwise (frozen parts, inference)."""
    if not with_cp or not args[0].requires_grad:
        return fn(*args)
    if with_cp == 'selective':
        require_selective()  # with_cp set after construction
        return cp.checkpoint(fn, *args, use_reentrant=False, context_fn=_selective_context)
    return cp.checkpoint(fn, *args, use_reentrant=False)
