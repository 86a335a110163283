"""``x + dwconv(x)`` (restv2_mm.ops.dwconv_residual): the identity folded into the kernel gives the
conv-and-add's values and gradients, runs one conv and no add over the map, and is left out
where the conv would compute in a lower precision."""
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import restv2_mm.ops as ops


def plain(x, conv):
    """x + conv(x) on a channels-last map, as the official CPE and FFN write it."""
    return x + conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def dwconv(channels, k, dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Conv2d(channels, channels, k, 1, k // 2, groups=channels).to(dtype)


class OpCounts(TorchDispatchMode):
    """Counts the aten ops that run with an output of ``numel`` elements, by name (``add``,
    ``convolution``, ...)."""

    def __init__(self, numel):
        super().__init__()
        self.numel, self.counts = numel, {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.numel() == self.numel:
            name = func.overloadpacket.__name__
            self.counts[name] = self.counts.get(name, 0) + 1
        return out


@pytest.mark.parametrize('k', [3, 5])
def test_values_and_gradients_equal_conv_plus_input(k):
    conv = dwconv(6, k)
    x = torch.randn(2, 7, 9, 6, dtype=torch.float64, requires_grad=True)
    want = plain(x, conv)
    with ops.fast_path(True):
        got = ops.dwconv_residual(x, conv)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    grad = torch.randn_like(want)
    inputs = (x, conv.weight, conv.bias)
    for a, b in zip(torch.autograd.grad(got, inputs, grad), torch.autograd.grad(want, inputs, grad)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_fast_path_is_one_conv_and_no_add_over_the_map():
    conv = dwconv(8, 3, torch.float32)
    x = torch.randn(2, 6, 6, 8)
    for enabled, adds in ((True, 0), (False, 1)):
        counter = OpCounts(x.numel())
        with ops.fast_path(enabled), torch.no_grad(), counter:
            ops.dwconv_residual(x, conv)
        assert counter.counts['convolution'] == 1
        assert counter.counts.get('add', 0) == adds, counter.counts


def test_lower_precision_autocast_takes_the_reference():
    conv = dwconv(8, 3, torch.float32)
    x = torch.randn(2, 6, 6, 8)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        with ops.fast_path(True):
            got = ops.dwconv_residual(x, conv)
        want = plain(x, conv)
    assert got.dtype == want.dtype
    torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize('conv', [
    nn.Conv2d(8, 8, 3, 1, 1),                           # not depth-wise
    nn.Conv2d(8, 8, 4, 1, 2, groups=8),                  # even kernel
    nn.Conv2d(8, 8, 3, 2, 1, groups=8),                  # strided
    nn.Conv2d(6, 6, 3, 1, 1, groups=6),                  # other channels than x
    nn.Conv2d(8, 8, 3, 1, 1, groups=8, padding_mode='reflect'),
])
def test_other_convs_are_refused(conv):
    with pytest.raises(ValueError, match='depth-wise k x k conv'):
        ops.dwconv_residual(torch.randn(1, 5, 5, 8), conv)
