"""Gradient checkpointing (activations recomputed in backward) of one module call: the ``with_cp``
of the backbones, full (recompute everything) or selective (keep the matmul outputs).

Selective checkpointing is torch's own (``torch.utils.checkpoint.create_selective_checkpoint_contexts``):
during the forward, the outputs of the GEMMs and of fused attention (:data:`SAVED_OPS`) are kept;
everything else (LayerNorm, GELU, residual adds, the depth-wise convs, PixelShuffle, layout copies:
cheap, memory-bound, and what fills memory) is dropped and recomputed in backward from the kept
tensors. What a fast path of :mod:`restv2_mm.ops` already keeps lean (the MLPs' GELU output, RMT's
FFN maps) it keeps lean inside a checkpoint too. Gradients equal those without checkpointing. It
needs torch >= 2.4 (:data:`SELECTIVE_MIN_TORCH`); on an older torch, asking for it
(``with_cp='selective'``) raises :class:`RuntimeError` when the backbone is built, and the package
still imports.
"""
from typing import Any, Callable, Union

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


def _policy(ctx, op, *args, **kwargs):
    """Keep the outputs of :data:`SAVED_OPS`, recompute the rest."""
    return cp.CheckpointPolicy.MUST_SAVE if op.overloadpacket in SAVED_OPS \
        else cp.CheckpointPolicy.PREFER_RECOMPUTE


def _selective_context():
    """The forward and recompute contexts of selective checkpointing (``context_fn``)."""
    return cp.create_selective_checkpoint_contexts(_policy)


def recomputed(fn: Callable, *args: Any, with_cp: Union[bool, str]) -> Any:
    """``fn(*args)``, with its activations recomputed in backward where ``with_cp`` is ``'full'``
    (or True: everything) or ``'selective'`` (all but :data:`SAVED_OPS` outputs) and the first
    argument (a tensor) needs a gradient; a plain call otherwise (frozen parts, inference)."""
    if not with_cp or not args[0].requires_grad:
        return fn(*args)
    if with_cp == 'selective':
        require_selective()  # with_cp set after construction
        return cp.checkpoint(fn, *args, use_reentrant=False, context_fn=_selective_context)
    return cp.checkpoint(fn, *args, use_reentrant=False)
