"""The transformer MLP ``fc2(act(fc1(x)))``: the modules (the reference), oneDNN's fused
fc1 + GELU for CPU inference, and GELU recomputed in backward for training."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ...utils.torch_compat import autocast_state

# oneDNN's fused linear + pointwise kernels (what torch.compile's CPU backend emits).
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, '_linear_pointwise')


def exact_gelu(act: nn.Module) -> bool:
    """Whether ``act`` is ``nn.GELU()`` with the exact (erf) form, the only one fused here."""
    return type(act) is nn.GELU and act.approximate == 'none'


def onednn_inference(x: torch.Tensor, *modules: nn.Module) -> bool:
    """fp32 CPU tensors, no autocast, and no gradient wanted (of ``x`` or of the modules'
    parameters): oneDNN's fused kernels, which compute in fp32 and have no autograd, apply."""
    if (not ONEDNN or x.device.type != 'cpu' or x.dtype != torch.float32
            or autocast_state('cpu')[0]):
        return False
    if not torch.is_grad_enabled():
        return True
    return not x.requires_grad and not any(
        p.requires_grad for m in modules for p in m.parameters())


def linear_gelu(x: torch.Tensor, fc: nn.Linear) -> torch.Tensor:
    """``GELU(fc(x))`` in one oneDNN kernel: the (L, rC) map is written once (fp32 CPU, no grad)."""
    return torch.ops.mkldnn._linear_pointwise(x, fc.weight, fc.bias, 'gelu', [], 'none')


class GeluLinear(torch.autograd.Function):
    """``F.linear(GELU(h), weight, bias)`` (exact GELU) keeping only ``h`` for backward.

    Autograd would keep GELU's input (for its backward) and its output (for the linear's weight
    gradient): two (L, rC) maps per MLP. Backward recomputes ``GELU(h)`` (elementwise) for the
    weight gradient and frees it before the input gradient is made, so the peak is no higher.
    Under autocast the gradients are computed in the activations' dtype and cast to the weights'.
    Once differentiable (no double backward).
    """

    @staticmethod
    def forward(ctx, h, weight, bias):
        ctx.save_for_backward(h, weight)
        ctx.has_bias = bias is not None
        return F.linear(F.gelu(h), weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        h, weight = ctx.saved_tensors
        go = grad_out.to(h.dtype)
        go2 = go.reshape(-1, go.shape[-1])
        grad_h = grad_weight = grad_bias = None
        if ctx.needs_input_grad[1]:
            g = F.gelu(h)
            grad_weight = (go2.t() @ g.reshape(-1, g.shape[-1])).to(weight.dtype)
            del g
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = go2.sum(0).to(weight.dtype)
        if ctx.needs_input_grad[0]:
            grad_h = torch.ops.aten.gelu_backward(go @ weight.to(go.dtype), h)
        return grad_h, grad_weight, grad_bias


def mlp_reference(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear) -> torch.Tensor:
    """``fc2(act(fc1(x)))``, the modules called (hooks and FLOP scopes see them)."""
    return fc2(act(fc1(x)))


def mlp_onednn(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear) -> torch.Tensor:
    """fc1 + GELU fused (:func:`linear_gelu`), then fc2."""
    return F.linear(linear_gelu(x, fc1), fc2.weight, fc2.bias)


def mlp_onednn_runs(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear) -> bool:
    """Exact GELU; fp32 CPU inference with oneDNN (:func:`onednn_inference`)."""
    return exact_gelu(act) and onednn_inference(x, fc1, fc2)


def mlp_recomputed(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear
                   ) -> torch.Tensor:
    """fc1, then :class:`GeluLinear` (GELU recomputed in backward)."""
    return GeluLinear.apply(fc1(x), fc2.weight, fc2.bias)


def mlp_recomputed_runs(x: torch.Tensor, fc1: nn.Linear, act: nn.Module, fc2: nn.Linear) -> bool:
    """Exact GELU while autograd records."""
    return exact_gelu(act) and torch.is_grad_enabled()


def mlp_example(dtype: torch.dtype) -> tuple:
    """x (2, 7, 8), fc1 8 -> 32, exact GELU, fc2 32 -> 8."""
    x = torch.randn(2, 7, 8, generator=torch.Generator().manual_seed(0), dtype=dtype,
                    requires_grad=True)
    return x, nn.Linear(8, 32).to(dtype), nn.GELU(), nn.Linear(32, 8).to(dtype)
