"""RMT's retention (models/rmt/retention.py) on the fast paths against the references, in float64:
outputs and gradients; which kernels run."""
from unittest import mock

import pytest
import torch

from restv2_mm.models.rmt import RetentionRelPos2d, VisionRetention
from restv2_mm.ops import fast_path
from restv2_mm.ops.kernels import attention
from restv2_mm.utils import torch_compat

needs_cpu_mask = pytest.mark.skipif(not torch_compat.cpu_sdpa_takes_float_mask(),
                                    reason='no CPU flash attention with a float mask here')


def _outputs_and_grads(decomposed, hw, batch, enabled):
    torch.manual_seed(0)
    rel = RetentionRelPos2d(32, 4, 2, 4).double()
    attn = VisionRetention(32, 4, decomposed).double()
    x = torch.randn(batch, *hw, 32, dtype=torch.float64, requires_grad=True)
    with fast_path(enabled):
        out = attn(x, rel(hw, decomposed))
    grads = torch.autograd.grad((out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype)
                                 .view_as(out)).sum(), [x, *attn.parameters()])
    return out, grads


@needs_cpu_mask
@pytest.mark.parametrize('decomposed', [True, False])
@pytest.mark.parametrize('hw, batch', [((7, 5), 3), ((1, 9), 1), ((12, 12), 2)])
def test_fast_retention_equals_reference_float64(decomposed, hw, batch):
    """Same outputs and gradients (x and every weight) as the explicit matmuls, and the fused
    kernel really runs (one call per whole-map retention, 1 + B per decomposed one)."""
    with mock.patch.object(attention.F, 'scaled_dot_product_attention',
                           wraps=attention.F.scaled_dot_product_attention) as sdpa:
        fast, fast_grads = _outputs_and_grads(decomposed, hw, batch, True)
        assert sdpa.call_count == (1 + batch if decomposed else 1)  # rows, then columns per image
        ref, ref_grads = _outputs_and_grads(decomposed, hw, batch, False)
        assert sdpa.call_count == (1 + batch if decomposed else 1)  # not on the reference path
    torch.testing.assert_close(fast, ref, atol=1e-12, rtol=1e-10)
    for a, b in zip(fast_grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


@needs_cpu_mask
def test_bf16_autocast_rotates_in_real_form():
    """bf16 projections (no complex bf16) take the real form of the rotation; the output
    follows the float32 reference within bf16 rounding."""
    torch.manual_seed(0)
    rel, attn = RetentionRelPos2d(32, 4, 2, 4), VisionRetention(32, 4, True)
    x = torch.randn(2, 8, 8, 32)
    with fast_path(False):
        ref = attn(x, rel((8, 8), True))
    with mock.patch.object(torch, 'view_as_complex', wraps=torch.view_as_complex) as cplx, \
            torch.autocast('cpu', dtype=torch.bfloat16):
        out = attn(x, rel((8, 8), True))
    assert cplx.call_count == 0
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)
    with mock.patch.object(torch, 'view_as_complex', wraps=torch.view_as_complex) as cplx:
        attn(x, rel((8, 8), True))
    assert cplx.call_count == 2  # q and k, in float32


@needs_cpu_mask
@pytest.mark.parametrize('decomposed', [True, False])
def test_cpu_runs_flash_attention_not_the_math_fallback(decomposed):
    """The fused path must reach torch's CPU flash kernel (no (L x L) matrix), not its math
    fallback, which a mask of the wrong rank or layout silently selects."""
    from torch.profiler import profile
    if not hasattr(torch.ops.aten, '_scaled_dot_product_flash_attention_for_cpu'):
        pytest.skip('no CPU flash attention op in this torch')
    rel = RetentionRelPos2d(32, 4, 2, 4)
    attn = VisionRetention(32, 4, decomposed)
    x = torch.randn(2, 6, 5, 32, requires_grad=True)
    with fast_path(True), profile() as prof:
        attn(x, rel((6, 5), decomposed)).sum().backward()
    names = {e.name for e in prof.events()}
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu' in names
    assert 'aten::_scaled_dot_product_attention_math' not in names
