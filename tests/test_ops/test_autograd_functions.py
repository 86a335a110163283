"""The custom backwards of restv2_mm.ops pass torch.autograd.gradcheck in float64 (with and
without biases, with frozen parameters, in training and eval mode), and are once differentiable: a
second derivative raises instead of being silently wrong."""
import pytest
import torch
from torch import nn
from torch.autograd import gradcheck

from restv2_mm.ops.kernels.conv_mlp import GeluDWConvLinear
from restv2_mm.ops.kernels.mlp import GeluLinear
from restv2_mm.ops.kernels.norm_act import BatchNormGeluConv

F64 = dict(dtype=torch.float64)
# Tighter than gradcheck's defaults (rtol 1e-3): float64 central differences with eps 1e-6 are
# exact to ~1e-9 here, and a gradient off by 0.1 % must fail.
TOL = dict(atol=1e-7, rtol=1e-5)


def tensor(*shape, grad=True):
    return torch.randn(*shape, **F64).requires_grad_(grad)


def assert_once_differentiable(out, x):
    grad, = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable'):
        grad.sum().backward()


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('frozen', [False, True])
def test_gelu_linear(bias, frozen):
    h = tensor(3, 5, 6)
    weight, b = tensor(4, 6, grad=not frozen), tensor(4, grad=not frozen) if bias else None
    assert gradcheck(GeluLinear.apply, (h, weight, b), **TOL)
    assert_once_differentiable(GeluLinear.apply(h, weight, b), h)


@pytest.mark.parametrize('fold', [True, False])
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('frozen', [False, True])
def test_gelu_dwconv_linear(fold, bias, frozen):
    h = tensor(2, 4, 5, 6)
    conv_w, fc_w = tensor(6, 1, 3, 3, grad=not frozen), tensor(3, 6, grad=not frozen)
    conv_b, fc_b = (tensor(6, grad=not frozen), tensor(3, grad=not frozen)) if bias else (None, None)

    def fn(h, conv_w, conv_b, fc_w, fc_b):
        return GeluDWConvLinear.apply(h, conv_w, conv_b, fc_w, fc_b, fold)
    assert gradcheck(fn, (h, conv_w, conv_b, fc_w, fc_b), **TOL)
    assert_once_differentiable(fn(h, conv_w, conv_b, fc_w, fc_b), h)


@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('frozen', [False, True])
def test_batch_norm_gelu_conv(training, bias, frozen):
    """The norm's and conv's own parameters are the Function's inputs (as the op passes them), so
    gradcheck's perturbations reach the modules."""
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(4).double().train(training)
    conv = nn.Conv2d(4, 3, 3, stride=2, padding=1, bias=bias).double()
    with torch.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5), norm.running_var.uniform_(0.5, 1.5)
    norm.requires_grad_(not frozen)
    x = tensor(3, 4, 5, 6)

    def fn(x, weight, b, conv_weight, conv_bias):
        return BatchNormGeluConv.apply(x, weight, b, conv_weight, conv_bias, norm, conv)
    inputs = (x, norm.weight, norm.bias, conv.weight, conv.bias)
    assert gradcheck(fn, inputs, **TOL)
    assert_once_differentiable(fn(*inputs), x)
