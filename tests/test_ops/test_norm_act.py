"""``conv(GELU(BatchNorm(x)))`` of RMT's stems (restv2_mm.ops.batch_norm_act_conv): the training
path gives the modules' outputs, gradients and running statistics (updated once), in training and
eval mode and with frozen parts, keeps only the norm's input for backward, and is left out under
autocast."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import restv2_mm.ops as ops
from helpers import saved_numels


def make(stride=1):
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(6).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 1.5)
    return norm, nn.Conv2d(6, 5, 3, stride=stride, padding=1).double()


@pytest.mark.parametrize('training', [True, False])
@pytest.mark.parametrize('stride', [1, 2])
def test_equals_the_modules_and_updates_statistics_once(training, stride):
    norm, conv = make(stride)
    ref_norm, ref_conv = copy.deepcopy(norm), copy.deepcopy(conv)
    norm.train(training), ref_norm.train(training)
    x = torch.randn(4, 6, 9, 7, dtype=torch.float64, requires_grad=True)
    want = ref_conv(F.gelu(ref_norm(x)))
    with ops.fast_path(True):
        got = ops.batch_norm_act_conv(x, norm, nn.GELU(), conv)
    assert got.grad_fn.name().endswith('BatchNormGeluConvBackward')
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):  # updated once
        torch.testing.assert_close(getattr(norm, name), getattr(ref_norm, name), rtol=0, atol=0)
    grad = torch.randn_like(want)
    inputs = (x, norm.weight, norm.bias, conv.weight, conv.bias)
    ref_inputs = (x, ref_norm.weight, ref_norm.bias, ref_conv.weight, ref_conv.bias)
    for a, b in zip(torch.autograd.grad(got, inputs, grad),
                    torch.autograd.grad(want, ref_inputs, grad)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    # A frozen stem part: only the conv's parameters train, the input needs no gradient.
    x.requires_grad_(False), norm.requires_grad_(False), ref_norm.requires_grad_(False)
    with ops.fast_path(True):
        got = ops.batch_norm_act_conv(x, norm, nn.GELU(), conv)
    want = ref_conv(F.gelu(ref_norm(x)))
    for a, b in zip(torch.autograd.grad(got, (conv.weight, conv.bias), grad),
                    torch.autograd.grad(want, (ref_conv.weight, ref_conv.bias), grad)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_keeps_only_the_norms_input():
    norm, conv = (m.float() for m in make())
    x = torch.randn(2, 6, 8, 8, requires_grad=True)
    params = [*norm.parameters(), *conv.parameters()]
    with ops.fast_path(True):
        fast = saved_numels(lambda: ops.batch_norm_act_conv(x, norm, nn.GELU(), conv), params)
    with ops.fast_path(False):
        ref = saved_numels(lambda: ops.batch_norm_act_conv(x, norm, nn.GELU(), conv), params)
    assert fast == x.numel()
    assert ref == 3 * x.numel() + 4 * 6  # norm input and output, GELU output; the statistics


def test_other_modules_and_autocast_take_the_reference():
    norm, conv = (m.float() for m in make())
    x = torch.randn(2, 6, 8, 8, requires_grad=True)
    with ops.fast_path(True), torch.autocast('cpu', dtype=torch.bfloat16):
        out = ops.batch_norm_act_conv(x, norm, nn.GELU(), conv)
    assert out.dtype == torch.bfloat16
    assert not out.grad_fn.name().endswith('BatchNormGeluConvBackward')
    for other_norm, act in ((nn.SyncBatchNorm(6), nn.GELU()), (norm, nn.ReLU()),
                            (norm, nn.GELU(approximate='tanh'))):
        other_norm.eval()
        with ops.fast_path(True):
            out = ops.batch_norm_act_conv(x, other_norm, act, conv)
        assert not out.grad_fn.name().endswith('BatchNormGeluConvBackward')
        torch.testing.assert_close(out, conv(act(other_norm(x))))
