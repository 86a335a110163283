"""RMT's convolutional MLP (restv2_mm.ops.conv_mlp): the training paths keep one hidden map for
backward where autograd keeps three, and under autocast the recomputation replays the forward's
dtypes."""
import torch
from torch import nn

import restv2_mm.ops as ops
from helpers import saved_numels


def modules(dtype=torch.float32, hidden=32):
    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(8, hidden), nn.Linear(hidden, 8)
    conv = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
    return [m.to(dtype) for m in (fc1, conv, fc2)]


def test_training_keeps_only_fc1s_output():
    fc1, conv, fc2 = modules()
    x = torch.randn(2, 6, 6, 8, requires_grad=True)
    hidden = 2 * 6 * 6 * 32
    params = [*fc1.parameters(), *conv.parameters(), *fc2.parameters()]
    with ops.fast_path(True):
        fast = saved_numels(lambda: ops.conv_mlp(x, fc1, nn.GELU(), conv, fc2), params)
    with ops.fast_path(False):
        ref = saved_numels(lambda: ops.conv_mlp(x, fc1, nn.GELU(), conv, fc2), params)
    assert fast == x.numel() + hidden  # fc1's input and output
    assert ref == x.numel() + 3 * hidden  # and GELU's output and the conv branch's sum


def test_autocast_backward_replays_the_forwards_dtype():
    fc1, conv, fc2 = modules()
    x = torch.randn(2, 5, 7, 8, requires_grad=True)
    params = (*fc1.parameters(), *conv.parameters(), *fc2.parameters())
    grads = {}
    for enabled in (True, False):
        with ops.fast_path(enabled), torch.autocast('cpu', dtype=torch.bfloat16):
            out = ops.conv_mlp(x, fc1, nn.GELU(), conv, fc2)
        assert out.dtype == torch.bfloat16
        assert out.grad_fn.name().endswith('GeluDWConvLinearBackward') == enabled
        grads[enabled] = torch.autograd.grad(out.float().sum(), (x, *params))
    for a, b in zip(grads[True], grads[False]):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2)


def test_fp32_inference_under_autocast_takes_the_reference():
    """oneDNN's fused kernels compute in fp32: under autocast the modules run in its dtype."""
    fc1, conv, fc2 = modules()
    x = torch.randn(2, 5, 7, 8)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16), ops.fast_path(True):
        assert ops.conv_mlp(x, fc1, nn.GELU(), conv, fc2).dtype == torch.bfloat16
        assert ops.mlp(x, fc1, nn.GELU(), nn.Linear(32, 8)).dtype == torch.bfloat16
