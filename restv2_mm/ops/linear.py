"""Linear layers with what follows them: ``Linear -> GELU -> Linear`` (the MLP) and
``residual + Linear`` (the attention output projection).

Fast paths (chosen here, one place, and only while :func:`fast_path_enabled`):

- fp32 CPU inference: oneDNN's fused kernels (what torch.compile's CPU backend emits), so that the
  (L, 4C) hidden map and the (L, C) block output are written once instead of twice. Measured on the
  2-core CPU at stage 1 of an 800x1344 input (67,200 tokens, C = 96): fc1 + GELU 120.7 -> 61.6 ms,
  fc2 + residual 57.9 -> 34.1 ms (``docs/performance.md``). They have no autograd.
- training: ``fc2(GELU(h))`` keeps only ``h`` for backward (:mod:`.gelu_linear`).

The references are the plain modules. Outputs are equal (exact GELU; the fused add rounds once less).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .gelu_linear import gelu_linear
from .switch import fast_path_enabled

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, '_linear_pointwise')


def _onednn_inference(x: torch.Tensor, *modules: nn.Module) -> bool:
    """fp32 CPU tensors with no gradient wanted: oneDNN's fused kernels apply."""
    if not _ONEDNN or x.device.type != 'cpu' or x.dtype != torch.float32:
        return False
    if not torch.is_grad_enabled():
        return True
    return not x.requires_grad and not any(
        p.requires_grad for m in modules for p in m.parameters())


def _add(out: torch.Tensor, residual: Optional[torch.Tensor]) -> torch.Tensor:
    return out if residual is None else residual + out


def linear_add(x: torch.Tensor, fc: nn.Linear,
               residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``residual + fc(x)`` (``fc(x)`` without a residual).

    Shape:
        x (..., in), residual (..., out) -> (..., out).
    """
    if residual is not None and fast_path_enabled() and _onednn_inference(x, fc):
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual.contiguous(), fc.weight,
                                                         fc.bias, 'add')
    return _add(F.linear(x, fc.weight, fc.bias), residual)


def mlp_gelu(x: torch.Tensor, fc1: nn.Linear, fc2: nn.Linear,
             residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``residual + fc2(GELU(fc1(x)))`` with the exact GELU.

    Shape:
        x (..., C), residual (..., C_out) -> (..., C_out).
    """
    if not fast_path_enabled():
        return _add(fc2(F.gelu(fc1(x))), residual)
    if _onednn_inference(x, fc1, fc2):
        h = torch.ops.mkldnn._linear_pointwise(x, fc1.weight, fc1.bias, 'gelu', [], 'none')
        return linear_add(h, fc2, residual)
    if torch.is_grad_enabled():
        return _add(gelu_linear(fc1(x), fc2), residual)
    return _add(fc2(F.gelu(fc1(x))), residual)
