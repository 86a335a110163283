"""RMT's convolutional MLP ``fc2(g + dwconv(g))`` with ``g = act(fc1(x))`` (official
``FeedForwardNetwork`` of ``classfication_release/RMT.py``): the modules (the reference), oneDNN's
fused fc1 + GELU for CPU inference, and the hidden maps recomputed in backward for training."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ...utils.torch_compat import autocast_state
from .dwconv_residual import (
                              conv_channels_last,
                              dwconv_residual_reference,
                              foldable,
                              identity_in_kernel,
)
from .mlp import exact_gelu, linear_gelu, onednn_inference


def _conv_residual(g: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                   fold: bool) -> torch.Tensor:
    return identity_in_kernel(g, weight, bias) if fold else g + conv_channels_last(g, weight, bias)


class GeluDWConvLinear(torch.autograd.Function):
    """``F.linear(g + dwconv(g), fc_w, fc_b)`` with ``g = GELU(h)``, keeping only ``h`` (and the
    weights) for backward.

    Autograd would keep h (GELU's input), g (the depth-wise conv's input) and ``g + dwconv(g)``
    (``fc2``'s input): three (L, rC) maps per block, the largest activations of an RMT training
    step. Backward recomputes the elementwise ops and the depth-wise conv from h (a few
    multiply-adds per element against ``fc2``'s C per element), never a GEMM, under the forward's
    autocast state, so the recomputed maps have the dtypes and values the forward had.
    ``fold``: the identity goes into the conv's kernel (:func:`.dwconv_residual.foldable` inputs
    only). Once differentiable (no double backward).
    """

    @staticmethod
    def forward(ctx, h, conv_w, conv_b, fc_w, fc_b, fold):
        ctx.autocast, ctx.fold = autocast_state(h.device.type), fold
        ctx.save_for_backward(h, conv_w, conv_b, fc_w)
        ctx.has_fc_bias = fc_b is not None
        return F.linear(_conv_residual(F.gelu(h), conv_w, conv_b, fold), fc_w, fc_b)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        h, conv_w, conv_b, fc_w = ctx.saved_tensors
        need_h, need_cw, need_cb, need_fw, need_fb = ctx.needs_input_grad[:5]
        enabled, dtype = ctx.autocast
        with torch.enable_grad(), torch.autocast(h.device.type, dtype=dtype, enabled=enabled):
            h_ = h.detach().requires_grad_(need_h)
            s = _conv_residual(F.gelu(h_), conv_w, conv_b, ctx.fold)
        go = grad_out.to(s.dtype)
        go2 = go.reshape(-1, go.shape[-1])
        grad_fw = grad_fb = None
        if need_fw:
            grad_fw = (go2.t() @ s.detach().reshape(-1, s.shape[-1])).to(fc_w.dtype)
        if need_fb and ctx.has_fc_bias:
            grad_fb = go2.sum(0).to(fc_w.dtype)
        # GELU and the depth-wise conv are differentiated by autograd on the recomputed graph: it
        # replays the forward's autocast casts, which a written-out backward would have to repeat.
        needs = (need_h, need_cw, need_cb and conv_b is not None)
        wanted = [t for t, need in zip((h_, conv_w, conv_b), needs) if need]
        grads = iter(torch.autograd.grad(s, wanted, go @ fc_w.to(go.dtype)) if wanted else ())
        grad_h, grad_cw, grad_cb = (next(grads) if need else None for need in needs)
        return grad_h, grad_cw, grad_cb, grad_fw, grad_fb, None


def conv_mlp_reference(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
                       fc2: nn.Linear) -> torch.Tensor:
    """``fc2(g + dwconv(g))`` with ``g = act(fc1(x))``, the modules called."""
    g = act(fc1(x))
    return fc2(dwconv_residual_reference(g, dwconv))


def conv_mlp_onednn(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
                    fc2: nn.Linear) -> torch.Tensor:
    """fc1 + GELU fused (:func:`.mlp.linear_gelu`), the identity in the conv's kernel, fc2."""
    s = identity_in_kernel(linear_gelu(x, fc1), dwconv.weight, dwconv.bias)
    return F.linear(s, fc2.weight, fc2.bias)


def conv_mlp_onednn_runs(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
                         fc2: nn.Linear) -> bool:
    """Exact GELU; fp32 CPU inference with oneDNN (:func:`.mlp.onednn_inference`)."""
    return exact_gelu(act) and onednn_inference(x, fc1, dwconv, fc2)


def conv_mlp_recomputed_folded(x: torch.Tensor, fc1: nn.Linear, act: nn.Module,
                               dwconv: nn.Conv2d, fc2: nn.Linear) -> torch.Tensor:
    """fc1, then :class:`GeluDWConvLinear` with the identity in the kernel."""
    return GeluDWConvLinear.apply(fc1(x), dwconv.weight, dwconv.bias, fc2.weight, fc2.bias, True)


def conv_mlp_recomputed_folded_runs(x: torch.Tensor, fc1: nn.Linear, act: nn.Module,
                                    dwconv: nn.Conv2d, fc2: nn.Linear) -> bool:
    """Exact GELU while autograd records; float32/float64 without autocast."""
    return exact_gelu(act) and torch.is_grad_enabled() and foldable(x, dwconv.weight)


def conv_mlp_recomputed(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
                        fc2: nn.Linear) -> torch.Tensor:
    """fc1, then :class:`GeluDWConvLinear` with the conv and the add."""
    return GeluDWConvLinear.apply(fc1(x), dwconv.weight, dwconv.bias, fc2.weight, fc2.bias, False)


def conv_mlp_recomputed_runs(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, dwconv: nn.Conv2d,
                             fc2: nn.Linear) -> bool:
    """Exact GELU while autograd records."""
    return exact_gelu(act) and torch.is_grad_enabled()


def conv_mlp_example(dtype: torch.dtype) -> tuple:
    """x (2, 5, 7, 8), fc1 8 -> 24, exact GELU, a depth-wise 3x3 conv on 24 channels, fc2 24 -> 8."""
    x = torch.randn(2, 5, 7, 8, generator=torch.Generator().manual_seed(0), dtype=dtype,
                    requires_grad=True)
    return (x, nn.Linear(8, 24).to(dtype), nn.GELU(),
            nn.Conv2d(24, 24, 3, 1, 1, groups=24).to(dtype), nn.Linear(24, 8).to(dtype))
