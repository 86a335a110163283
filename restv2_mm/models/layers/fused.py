"""oneDNN's fused linear kernels for fp32 CPU inference (what torch.compile's CPU backend emits).

``Linear -> GELU`` and ``Linear + residual`` run as one kernel each, so the (L, 4C) MLP hidden
map and the (L, C) block output are written once instead of twice. The kernels have no autograd,
so they are used only where no gradient is needed; everywhere else the plain modules run. Outputs
equal the unfused ones (exact GELU; the add is rounded once less). Measured on the 2-core CPU at
stage 1 of an 800x1344 input (67,200 tokens, C = 96): fc1 + GELU 120.7 -> 61.6 ms,
fc2 + residual 57.9 -> 34.1 ms (``docs/performance_notes.md``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, '_linear_pointwise')


def fusable(x: torch.Tensor, *modules: nn.Module) -> bool:
    """Whether the fused kernels may run: fp32 CPU tensors, no gradient wanted, not tracing."""
    if not _ONEDNN or x.device.type != 'cpu' or x.dtype != torch.float32:
        return False
    if torch.jit.is_tracing():  # traces (FLOP counting, export) keep the portable aten ops
        return False
    if not torch.is_grad_enabled():
        return True
    return not x.requires_grad and not any(
        p.requires_grad for m in modules for p in m.parameters())


def linear_gelu(x: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
    """``F.gelu(fc(x))`` (exact GELU) as one oneDNN kernel. Shape: (..., in) -> (..., out)."""
    return torch.ops.mkldnn._linear_pointwise(x, fc.weight, fc.bias, 'gelu', [], 'none')


def linear_add(x: torch.Tensor, fc: nn.Linear, residual: Optional[torch.Tensor]) -> torch.Tensor:
    """``residual + fc(x)`` as one oneDNN kernel (plain ``fc(x)`` without a residual)."""
    if residual is None:
        return F.linear(x, fc.weight, fc.bias)
    return torch.ops.mkldnn._linear_pointwise.binary(x, residual.contiguous(), fc.weight,
                                                     fc.bias, 'add')
