"""RMT's convolutional MLP (restv2_mm.ops.conv_mlp_gelu): every path equals the plain computation
written out here, gradients included, and the training path keeps one hidden map for backward
where autograd keeps three."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import restv2_mm.ops as ops
from helpers import saved_numels


def plain(x, fc1, conv, fc2, res):
    """res + fc2(g + dwconv(g)), g = GELU(fc1(x)), on a channels-last map (official FFN)."""
    g = F.gelu(fc1(x))
    return res + fc2(g + conv(g.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


def modules(dtype=torch.float64, hidden=24):
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(8, hidden), nn.Linear(hidden, 8)
    conv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
    return [m.to(dtype) for m in (fc1, conv, fc2)]


@pytest.mark.parametrize('grad', [False, True])
@pytest.mark.parametrize('enabled', [True, False])
def test_every_path_equals_the_plain_computation(grad, enabled):
    fc1, conv, fc2 = modules()
    for p in (*fc1.parameters(), *conv.parameters(), *fc2.parameters()):
        p.requires_grad_(grad)
    x = torch.randn(2, 5, 7, 8, dtype=torch.float64, requires_grad=grad)
    res = torch.randn(2, 5, 7, 8, dtype=torch.float64)
    want = plain(x, fc1, conv, fc2, res)
    with ops.fast_path(enabled), torch.set_grad_enabled(grad):
        got = ops.conv_mlp_gelu(x, fc1, conv, fc2, res)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    if grad:
        inputs = (x, *fc1.parameters(), *conv.parameters(), *fc2.parameters())
        for a, b in zip(torch.autograd.grad(got.sum(), inputs),
                        torch.autograd.grad(want.sum(), inputs)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_fp32_inference_fused_kernels_match():
    fc1, conv, fc2 = modules(torch.float32)
    x, res = torch.randn(2, 9, 11, 8), torch.randn(2, 9, 11, 8)
    with torch.no_grad():
        torch.testing.assert_close(ops.conv_mlp_gelu(x, fc1, conv, fc2, res),
                                   plain(x, fc1, conv, fc2, res), rtol=1e-5, atol=1e-5)


def test_training_keeps_only_fc1s_output():
    fc1, conv, fc2 = modules(torch.float32, hidden=32)
    x = torch.randn(2, 6, 6, 8, requires_grad=True)
    hidden = 2 * 6 * 6 * 32
    params = [*fc1.parameters(), *conv.parameters(), *fc2.parameters()]
    with ops.fast_path(True):
        fast = saved_numels(lambda: ops.conv_mlp_gelu(x, fc1, conv, fc2), params)
    with ops.fast_path(False):
        ref = saved_numels(lambda: ops.conv_mlp_gelu(x, fc1, conv, fc2), params)
    assert fast == x.numel() + hidden  # fc1's input and output
    assert ref == x.numel() + 3 * hidden  # and GELU's output and the conv branch's sum


def test_autocast_backward_replays_the_forwards_dtype():
    fc1, conv, fc2 = modules(torch.float32)
    x = torch.randn(2, 5, 7, 8, requires_grad=True)
    params = (*fc1.parameters(), *conv.parameters(), *fc2.parameters())
    grads = {}
    for enabled in (True, False):
        with ops.fast_path(enabled), torch.autocast('cpu', dtype=torch.bfloat16):
            out = ops.conv_mlp_gelu(x, fc1, conv, fc2)
        assert out.dtype == torch.bfloat16
        grads[enabled] = torch.autograd.grad(out.float().sum(), (x, *params))
    for a, b in zip(grads[True], grads[False]):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2)
