"""``GELU(BatchNorm(x))`` of the convolutional stems, keeping only ``x`` for backward.

Autograd keeps the BatchNorm's input and its output (GELU's input) for backward, and the next
conv keeps GELU's output: three maps at the stem's resolution (H/2 x W/2 for the first convs of
RMT's stem). The fast path keeps x alone and recomputes the normalisation and GELU in backward
(elementwise), so two maps remain. The running statistics are updated once, by the module's own
forward; the recomputation normalises with the batch statistics of x again (in training) or the
running ones (in eval), never updating them. The reference is ``act(norm(x))``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .switch import fast_path_enabled


class _BatchNormGelu(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, norm):
        ctx.norm = norm
        # Batch statistics where the module normalises with them (it says so in its forward).
        ctx.batch_stats = norm.training or norm.running_mean is None
        ctx.save_for_backward(x, weight, bias)
        return F.gelu(norm(x))

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias = ctx.saved_tensors
        norm = ctx.norm
        with torch.enable_grad():
            x_ = x.detach().requires_grad_(ctx.needs_input_grad[0])
            if ctx.batch_stats:
                y = F.batch_norm(x_, None, None, weight, bias, True, 0., norm.eps)
            else:
                y = F.batch_norm(x_, norm.running_mean, norm.running_var, weight, bias, False, 0.,
                                 norm.eps)
            out = F.gelu(y)
        wanted = [(t, need) for t, need in zip((x_, weight, bias), ctx.needs_input_grad[:3])]
        grads = iter(torch.autograd.grad(out, [t for t, need in wanted if need], grad_out)
                     if any(need for _, need in wanted) else ())
        return (*(next(grads) if need else None for _, need in wanted), None)


def batch_norm_act(x: torch.Tensor, norm: nn.Module,
                   act: Optional[nn.Module] = None) -> torch.Tensor:
    """``act(norm(x))`` (``norm(x)`` without ``act``); for a plain ``nn.BatchNorm2d`` with affine
    weights followed by the exact GELU, in training, only ``x`` is kept for backward.

    Shape:
        x (N, C, H, W) -> (N, C, H, W).
    """
    if act is None:
        return norm(x)
    if (fast_path_enabled() and torch.is_grad_enabled() and type(norm) is nn.BatchNorm2d
            and norm.affine and type(act) is nn.GELU and act.approximate == 'none'):
        return _BatchNormGelu.apply(x, norm.weight, norm.bias, norm)
    return act(norm(x))
