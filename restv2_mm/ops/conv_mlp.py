"""RMT's convolutional MLP, ``residual + fc2(g + dwconv(g))`` with ``g = GELU(fc1(x))``.

Fast paths (only while :func:`fast_path_enabled`; the reference is the plain modules):

- training: the block after ``fc1`` keeps only ``fc1``'s output h for backward. Autograd would
  keep h (GELU's input), g (the depth-wise conv's input) and ``g + dwconv(g)`` (``fc2``'s input):
  three (L, rC) maps per block, the largest activations of an RMT training step. Backward
  recomputes the two elementwise ops and the depth-wise conv from h (a few multiply-adds per
  element against ``fc2``'s C per element), never a GEMM.
- fp32 CPU inference: ``fc1`` and GELU in one oneDNN kernel, and ``fc2`` with the residual add
  (:func:`restv2_mm.ops.linear_add`), so the hidden map and the block output are written once.
- both: ``g + dwconv(g)`` is one conv with the identity in its kernel
  (:func:`restv2_mm.ops.dwconv.dwconv_residual`).

Outputs are those of the modules (the same ops in the same order; the fused kernels round once
less); gradients agree to float rounding (``tests/test_ops/test_conv_mlp.py``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.torch_compat import autocast_state
from .dwconv import dwconv_residual, folded_dwconv_residual
from .linear import _onednn_inference, linear_add
from .switch import fast_path_enabled


class _GeluDWConvLinear(torch.autograd.Function):
    """``fc2(g + dwconv(g))``, ``g = GELU(h)``, saving only h (and the weights) for backward.

    Backward replays the forward's autocast state, so the recomputed ``g + dwconv(g)`` has the
    dtype and values the forward had."""

    @staticmethod
    def forward(ctx, h, conv_w, conv_b, fc_w, fc_b):
        ctx.autocast = autocast_state(h.device.type)
        ctx.save_for_backward(h, conv_w, conv_b, fc_w, fc_b)
        g = F.gelu(h)
        return F.linear(folded_dwconv_residual(g, conv_w, conv_b), fc_w, fc_b)

    @staticmethod
    def backward(ctx, grad_out):
        h, conv_w, conv_b, fc_w, fc_b = ctx.saved_tensors
        need_h, need_cw, need_cb, need_fw, need_fb = ctx.needs_input_grad
        enabled, dtype = ctx.autocast
        with torch.enable_grad(), torch.autocast(h.device.type, dtype=dtype, enabled=enabled):
            h_ = h.detach().requires_grad_(need_h)
            g = F.gelu(h_)
            s = folded_dwconv_residual(g, conv_w, conv_b)
        go = grad_out.to(s.dtype)
        grad_fw = grad_fb = None
        if need_fw:
            grad_fw = (go.reshape(-1, go.shape[-1]).t() @ s.detach().reshape(-1, s.shape[-1]))
            grad_fw = grad_fw.to(fc_w.dtype)
        if need_fb and fc_b is not None:
            grad_fb = go.reshape(-1, go.shape[-1]).sum(0).to(fc_b.dtype)
        wanted = [t for t, need in ((h_, need_h), (conv_w, need_cw), (conv_b, need_cb)) if need]
        grads = iter(())
        if wanted:
            grad_s = go @ fc_w.to(go.dtype)
            grads = iter(torch.autograd.grad(s, wanted, grad_s))
        grad_h, grad_cw, grad_cb = (next(grads) if need else None
                                    for need in (need_h, need_cw, need_cb))
        return grad_h, grad_cw, grad_cb, grad_fw, grad_fb


def conv_mlp_gelu(x: torch.Tensor, fc1: nn.Linear, dwconv: nn.Conv2d, fc2: nn.Linear,
                  residual: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``residual + fc2(g + dwconv(g))`` with ``g = GELU(fc1(x))`` (exact GELU): RMT's FFN
    (official ``FeedForwardNetwork`` of ``classfication_release/RMT.py``).

    Args:
        x: Channels-last map (N, H, W, C).
        fc1, fc2: The linears, C -> rC -> C_out.
        dwconv: Depth-wise ``nn.Conv2d`` on rC channels, stride 1, padding k // 2.
        residual: Added to the output; None for no residual.

    Shape:
        x (N, H, W, C), residual (N, H, W, C_out) -> (N, H, W, C_out).
    """
    fast = fast_path_enabled()
    if fast and _onednn_inference(x, fc1, dwconv, fc2):
        g = torch.ops.mkldnn._linear_pointwise(x, fc1.weight, fc1.bias, 'gelu', [], 'none')
        return linear_add(dwconv_residual(g, dwconv), fc2, residual)
    if fast and torch.is_grad_enabled():
        out = _GeluDWConvLinear.apply(fc1(x), dwconv.weight, dwconv.bias, fc2.weight, fc2.bias)
    else:  # the reference: the modules' computation
        g = F.gelu(fc1(x))
        out = fc2(dwconv_residual(g, dwconv))
    return out if residual is None else residual + out
