"""``fc2(GELU(h))`` that keeps only ``h`` for backward, not ``GELU(h)`` as well."""
import torch
import torch.nn.functional as F
from torch import nn


class _GeluLinear(torch.autograd.Function):
    """Autograd saves the input of GELU (for its backward) and its output (for the linear's
    weight gradient): two (L, 4C) maps per block, the largest activations of a ResTv2 training
    step. This recomputes ``GELU(h)`` in backward instead (one cheap elementwise op), which cuts
    the activation memory of a ResTv2-T training step at 1333x800 by about a fifth
    (``docs/performance.md``)."""

    @staticmethod
    def forward(ctx, h, weight, bias):
        ctx.save_for_backward(h, weight)
        ctx.has_bias = bias is not None
        return F.linear(F.gelu(h), weight, bias)

    @staticmethod
    def backward(ctx, grad_out):
        h, weight = ctx.saved_tensors
        go = grad_out.to(h.dtype)  # dtypes can differ under autocast: work in the activations'
        go2 = go.reshape(-1, go.shape[-1])
        grad_weight = grad_bias = grad_h = None
        if ctx.needs_input_grad[1]:
            g = F.gelu(h)
            grad_weight = (go2.t() @ g.reshape(-1, g.shape[-1])).to(weight.dtype)
            del g  # freed before the two (L, 4C) gradients below: no higher peak than autograd's
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = go2.sum(0).to(weight.dtype)
        if ctx.needs_input_grad[0]:
            grad_h = torch.ops.aten.gelu_backward(go @ weight.to(go.dtype), h)
        return grad_h, grad_weight, grad_bias


def gelu_linear(h: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
    """``fc(F.gelu(h))`` (exact GELU) saving only ``h`` for backward, not ``GELU(h)`` as well.

    Shape:
        (..., in_features) -> (..., out_features).
    """
    return _GeluLinear.apply(h, fc.weight, fc.bias)
