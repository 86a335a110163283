"""Gradient checkpointing of one module call, the ``with_cp`` of the backbone's blocks and embeddings."""
from typing import Any, Callable

import torch.utils.checkpoint as cp


def checkpointed(fn: Callable, *args: Any, with_cp: bool) -> Any:
    """``fn(*args)``, recomputed in backward instead of keeping its activations when ``with_cp``
    is set and the first argument (a tensor) needs a gradient; a plain call otherwise (frozen
    parts, inference)."""
    if with_cp and args[0].requires_grad:
        return cp.checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)
