"""``conv(GELU(BatchNorm(x)))``, a BatchNorm, its activation and the next conv of RMT's stems: the
modules (the reference), and for training a form that keeps only ``x`` for backward.

Autograd keeps the BatchNorm's input and its output (GELU's input) for backward, and the conv
keeps GELU's output: three maps at the stem's resolution (H/2 x W/2 for the first convs). The
fast form keeps x alone: backward recomputes the normalisation and GELU (elementwise) and takes
the conv's gradients with ``aten.convolution_backward`` from the recomputed input, without
running the conv again. The running statistics are updated once, by the module's own forward;
the recomputation normalises with the batch statistics of x again (in training) or the running
ones (in eval), never updating them.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ...utils.torch_compat import autocast_state
from .mlp import exact_gelu


class BatchNormGeluConv(torch.autograd.Function):
    """``conv(GELU(norm(x)))`` keeping ``x``, the norm's affine parameters and the conv's weight
    for backward (see the module docstring). ``norm`` and ``conv`` are the modules (their
    parameters are passed as inputs too, for their gradients). Once differentiable."""

    @staticmethod
    def forward(ctx, x, weight, bias, conv_weight, conv_bias, norm, conv):
        ctx.norm = norm
        # Batch statistics where the module normalises with them (it says so in its forward).
        ctx.batch_stats = norm.training or norm.running_mean is None
        ctx.conv_args = (conv.stride, conv.padding, conv.dilation, conv.groups)
        ctx.save_for_backward(x, weight, bias, conv_weight)
        return F.conv2d(F.gelu(norm(x)), conv_weight, conv_bias, *ctx.conv_args)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight, bias, conv_weight = ctx.saved_tensors
        need_x, need_w, need_b, need_cw, need_cb = ctx.needs_input_grad[:5]
        norm = ctx.norm
        with torch.enable_grad():
            x_ = x.detach().requires_grad_(need_x)
            if ctx.batch_stats:
                y = F.batch_norm(x_, None, None, weight, bias, True, 0., norm.eps)
            else:
                y = F.batch_norm(x_, norm.running_mean, norm.running_var, weight, bias, False, 0.,
                                 norm.eps)
            act = F.gelu(y)
        stride, padding, dilation, groups = ctx.conv_args
        grad_act, grad_cw, grad_cb = torch.ops.aten.convolution_backward(
            grad_out, act.detach(), conv_weight, [conv_weight.shape[0]] if need_cb else None,
            stride, padding, dilation, False, [0] * len(stride), groups,
            [need_x or need_w or need_b, need_cw, need_cb])
        # BatchNorm (batch or running statistics) and GELU are differentiated by autograd on the
        # recomputed graph: their backward is torch's own, in both modes, not a second copy here.
        needs = (need_x, need_w, need_b)
        wanted = [t for t, need in zip((x_, weight, bias), needs) if need]
        grads = iter(torch.autograd.grad(act, wanted, grad_act) if wanted else ())
        return (*(next(grads) if need else None for need in needs), grad_cw, grad_cb, None, None)


def batch_norm_act_conv_reference(x: torch.Tensor, norm: nn.Module, act: nn.Module,
                                  conv: nn.Module) -> torch.Tensor:
    """``conv(act(norm(x)))``, the modules called."""
    return conv(act(norm(x)))


def batch_norm_act_conv_recomputed(x: torch.Tensor, norm: nn.Module, act: nn.Module,
                                   conv: nn.Module) -> torch.Tensor:
    """:class:`BatchNormGeluConv` on the modules."""
    return BatchNormGeluConv.apply(x, norm.weight, norm.bias, conv.weight, conv.bias, norm, conv)


def batch_norm_act_conv_recomputed_runs(x: torch.Tensor, norm: nn.Module, act: nn.Module,
                                        conv: nn.Module) -> bool:
    """While autograd records: an affine ``nn.BatchNorm2d``, the exact GELU and an ``nn.Conv2d``
    with zero padding; float32/float64 of the conv's dtype, no autocast."""
    return (torch.is_grad_enabled() and type(norm) is nn.BatchNorm2d and norm.affine
            and exact_gelu(act) and type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
            and isinstance(conv.padding, tuple) and x.dtype == conv.weight.dtype
            and x.dtype in (torch.float32, torch.float64) and not autocast_state(x.device.type)[0])


def batch_norm_act_conv_example(dtype: torch.dtype) -> tuple:
    """x (4, 6, 9, 7), a training-mode BatchNorm2d(6) with affine weights, exact GELU, a 3x3
    stride-2 conv 6 -> 5."""
    g = torch.Generator().manual_seed(0)
    norm, conv = nn.BatchNorm2d(6).to(dtype), nn.Conv2d(6, 5, 3, 2, 1).to(dtype)
    with torch.no_grad():
        norm.weight.copy_(torch.rand(6, generator=g, dtype=dtype) + 0.5)
        norm.bias.copy_(torch.rand(6, generator=g, dtype=dtype) - 0.5)
    x = torch.randn(4, 6, 9, 7, generator=g, dtype=dtype, requires_grad=True)
    return x, norm.train(), nn.GELU(), conv
