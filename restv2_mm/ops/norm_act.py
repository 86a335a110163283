"""``GELU(BatchNorm(x))`` of the convolutional stems, keeping only ``x`` for backward; and
``conv(GELU(BatchNorm(x)))``, the stem's norm, activation and next conv, likewise.

Autograd keeps the BatchNorm's input and its output (GELU's input) for backward, and the next
conv keeps GELU's output: three maps at the stem's resolution (H/2 x W/2 for the first convs of
RMT's stem). :func:`batch_norm_act` keeps x alone and recomputes the normalisation and GELU in
backward (elementwise), so two maps remain (x and the conv's input); :func:`batch_norm_act_conv`
also takes the conv and keeps x alone: the conv's input is recomputed for its weight gradient,
which is then taken with ``aten.convolution_backward`` (the conv itself is not run again). The
running statistics are updated once, by the module's own forward; the recomputation normalises
with the batch statistics of x again (in training) or the running ones (in eval), never updating
them. The references are ``act(norm(x))`` and ``conv(act(norm(x)))``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.torch_compat import autocast_state
from .switch import fast_path_enabled


def _norm_gelu(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """GELU(BatchNorm(x)) again in backward, with the statistics the forward used, none updated."""
    norm = ctx.norm
    if ctx.batch_stats:
        y = F.batch_norm(x, None, None, weight, bias, True, 0., norm.eps)
    else:
        y = F.batch_norm(x, norm.running_mean, norm.running_var, weight, bias, False, 0., norm.eps)
    return F.gelu(y)


def _save_norm(ctx, norm: nn.Module) -> None:
    ctx.norm = norm
    # Batch statistics where the module normalises with them (it says so in its forward).
    ctx.batch_stats = norm.training or norm.running_mean is None


def _grads(out: torch.Tensor, inputs, needs, grad_out: torch.Tensor) -> tuple:
    """Gradients of ``out`` for the ``inputs`` whose ``needs`` is set, None for the others."""
    wanted = [t for t, need in zip(inputs, needs) if need]
    grads = iter(torch.autograd.grad(out, wanted, grad_out) if wanted else ())
    return tuple(next(grads) if need else None for need in needs)


class _BatchNormGelu(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, norm):
        _save_norm(ctx, norm)
        ctx.save_for_backward(x, weight, bias)
        return F.gelu(norm(x))

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias = ctx.saved_tensors
        with torch.enable_grad():
            x_ = x.detach().requires_grad_(ctx.needs_input_grad[0])
            out = _norm_gelu(ctx, x_, weight, bias)
        return (*_grads(out, (x_, weight, bias), ctx.needs_input_grad[:3], grad_out), None)


class _BatchNormGeluConv(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, conv_weight, conv_bias, norm, conv):
        _save_norm(ctx, norm)
        ctx.conv_args = (conv.stride, conv.padding, conv.dilation, conv.groups)
        ctx.save_for_backward(x, weight, bias, conv_weight)
        stride, padding, dilation, groups = ctx.conv_args
        return F.conv2d(F.gelu(norm(x)), conv_weight, conv_bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, bias, conv_weight = ctx.saved_tensors
        need_x, need_w, need_b, need_cw, need_cb = ctx.needs_input_grad[:5]
        with torch.enable_grad():
            x_ = x.detach().requires_grad_(need_x)
            act = _norm_gelu(ctx, x_, weight, bias)
        stride, padding, dilation, groups = ctx.conv_args
        # The conv's gradients from its recomputed input, without running the conv again (None
        # where not asked for).
        grad_act, grad_cw, grad_cb = torch.ops.aten.convolution_backward(
            grad_out, act.detach(), conv_weight, [conv_weight.shape[0]] if need_cb else None,
            stride, padding, dilation, False, [0] * len(stride), groups,
            [need_x or need_w or need_b, need_cw, need_cb])
        grads = _grads(act, (x_, weight, bias), (need_x, need_w, need_b), grad_act)
        return (*grads, grad_cw, grad_cb, None, None)


def _fusable(norm: nn.Module, act: Optional[nn.Module]) -> bool:
    return (fast_path_enabled() and torch.is_grad_enabled() and type(norm) is nn.BatchNorm2d
            and norm.affine and type(act) is nn.GELU and act.approximate == 'none')


def batch_norm_act(x: torch.Tensor, norm: nn.Module,
                   act: Optional[nn.Module] = None) -> torch.Tensor:
    """``act(norm(x))`` (``norm(x)`` without ``act``); for a plain ``nn.BatchNorm2d`` with affine
    weights followed by the exact GELU, in training, only ``x`` is kept for backward.

    Shape:
        x (N, C, H, W) -> (N, C, H, W).
    """
    if act is None:
        return norm(x)
    if _fusable(norm, act):
        return _BatchNormGelu.apply(x, norm.weight, norm.bias, norm)
    return act(norm(x))


def batch_norm_act_conv(x: torch.Tensor, norm: nn.Module, act: nn.Module,
                        conv: nn.Conv2d) -> torch.Tensor:
    """``conv(act(norm(x)))``; for a plain ``nn.BatchNorm2d`` with affine weights, the exact GELU
    and an ``nn.Conv2d`` with zero padding, in training, in float32/float64 without autocast, only
    ``x`` is kept for backward (the conv's input, GELU's output, is recomputed). Elsewhere the
    modules run, with :func:`batch_norm_act` for the norm and activation.

    Shape:
        x (N, C, H, W) -> (N, C', H', W'), as ``conv``.
    """
    if (_fusable(norm, act) and type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
            and isinstance(conv.padding, tuple) and x.dtype == conv.weight.dtype
            and x.dtype in (torch.float32, torch.float64)
            and not autocast_state(x.device.type)[0]):
        return _BatchNormGeluConv.apply(x, norm.weight, norm.bias, conv.weight, conv.bias, norm,
                                        conv)
    return conv(batch_norm_act(x, norm, act))
