"""The fused retention of RMT (restv2_mm.ops.retention) against the official computation it
replaces (VisionRetention.forward_reference: explicit matmuls), in float64: outputs and gradients."""
from unittest import mock

import pytest
import torch

from restv2_mm.models.rmt import RetentionRelPos2d, VisionRetention
from restv2_mm.ops import fast_path, retention
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
def test_fused_retention_equals_reference_float64(decomposed, hw, batch):
    """Same outputs and gradients (x and every weight) as the explicit matmuls, and the fused
    kernel really runs (one call per whole-map retention, two per decomposed one)."""
    with mock.patch.object(retention.F, 'scaled_dot_product_attention',
                           wraps=retention.F.scaled_dot_product_attention) as sdpa:
        fast, fast_grads = _outputs_and_grads(decomposed, hw, batch, True)
    assert sdpa.call_count == (1 + batch if decomposed else 1)  # rows, then columns per image
    ref, ref_grads = _outputs_and_grads(decomposed, hw, batch, False)
    assert sdpa.call_count == (1 + batch if decomposed else 1)  # not on the reference path
    torch.testing.assert_close(fast, ref, atol=1e-12, rtol=1e-10)
    for a, b in zip(fast_grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_rotary_with_swapped_pairs_equals_theta_shift():
    from restv2_mm.models.rmt.retention import _signed_sin, _theta_shift_swapped, theta_shift
    sin, cos = RetentionRelPos2d(64, 4, 2, 4).rotary(5, 6)
    x = torch.randn(2, 5, 6, 4, 16)
    official = theta_shift(x.permute(0, 3, 1, 2, 4), sin, cos).permute(0, 2, 3, 1, 4)
    ours = _theta_shift_swapped(x, _signed_sin(sin).unsqueeze(2), cos.unsqueeze(2))
    torch.testing.assert_close(ours, official, rtol=1e-6, atol=1e-6)
    assert not torch.equal(ours, _theta_shift_swapped(x, sin.unsqueeze(2), cos.unsqueeze(2)))


def test_rotary_as_complex_product_equals_theta_shift_float64():
    """One complex product per channel pair gives the official rotation, forward and backward."""
    from restv2_mm.models.rmt.retention import rotate_pairs, theta_shift
    sin, cos = RetentionRelPos2d(64, 4, 2, 4).double().rotary(5, 6)
    x = torch.randn(2, 5, 6, 4, 16, dtype=torch.float64, requires_grad=True)
    turn = torch.complex(cos[..., ::2], sin[..., ::2]).unsqueeze(2)
    official = theta_shift(x.permute(0, 3, 1, 2, 4), sin, cos).permute(0, 2, 3, 1, 4)
    ours = rotate_pairs(x, turn)
    torch.testing.assert_close(ours, official, rtol=1e-12, atol=1e-12)
    weight = torch.randn_like(ours)
    grad, = torch.autograd.grad((ours * weight).sum(), x)
    grad_official, = torch.autograd.grad((official * weight).sum(), x)
    torch.testing.assert_close(grad, grad_official, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(rotate_pairs(x, turn.conj()), official)  # the turn's sign matters


@needs_cpu_mask
def test_fused_retention_under_bf16_autocast_rotates_in_real_form():
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


def test_decay_attention_follows_the_switch_and_the_torch_version():
    """Reference where the fast paths are off, or on the CPU of a torch whose flash attention takes
    no float mask (< 2.3: its math fallback is slower than the matmuls); the mask is cast to q's
    dtype for the fused kernel."""
    q = torch.randn(2, 3, 6, 4, dtype=torch.float64)
    mask = torch.randn(3, 6, 6)
    ref = retention.attention_reference(q, q, q, mask, scale=1.)
    with mock.patch.object(retention.F, 'scaled_dot_product_attention',
                           return_value='sdpa') as sdpa:
        with fast_path(False):
            assert torch.equal(retention.decay_attention(q, q, q, mask), ref)
        with fast_path(True), mock.patch.object(torch_compat, 'torch_version',
                                                return_value=(2, 2)):
            assert not retention.fused_decay_attention('cpu')
            assert retention.fused_decay_attention('cuda')
            assert torch.equal(retention.decay_attention(q, q, q, mask), ref)
        assert sdpa.call_count == 0
        with fast_path(True), mock.patch.object(torch_compat, 'torch_version',
                                                return_value=(2, 3)):
            assert retention.decay_attention(q, q, q, mask) == 'sdpa'
        assert sdpa.call_args.kwargs['attn_mask'].dtype == q.dtype
        assert sdpa.call_args.kwargs['scale'] == 1.


def _same(a, b):
    (sa, ca), ma = a
    (sb, cb), mb = b
    ma, mb = (ma, ) if torch.is_tensor(ma) else ma, (mb, ) if torch.is_tensor(mb) else mb
    return all(torch.equal(x, y) and x.dtype == y.dtype for x, y in zip((sa, ca, *ma), (sb, cb, *mb)))


def test_tables_are_cached_and_never_stale():
    """Fast path: the same tables come back for the same map; a new decay (load_state_dict,
    in-place change), a dtype change, inference mode or another size give new tables that
    equal freshly computed ones; the reference path computes them every call; the state dict
    and copies carry no cache."""
    import copy
    rel = RetentionRelPos2d(32, 4, 2, 4)
    with fast_path(True):
        first = rel((6, 5), True)
        assert rel((6, 5), True) is first
        assert rel((6, 5), False) is not first and _same(rel((6, 5), False), rel.tables(6, 5, False))
        state = {k: v.clone() for k, v in rel.state_dict().items()}
        state['decay'] -= 0.5
        rel.load_state_dict(state)
        assert _same(rel((6, 5), True), rel.tables(6, 5, True))
        assert not _same(rel((6, 5), True), first)
        with torch.no_grad():
            rel.angle.mul_(2)
        assert _same(rel((6, 5), True), rel.tables(6, 5, True))
        rel.double()
        assert rel((6, 5), True)[0][0].dtype == torch.float64
        with torch.inference_mode():
            inference = rel((6, 5), True)
        assert inference[0][0].is_inference() and not rel((6, 5), True)[0][0].is_inference()
        for size in range(8):
            rel((size + 1, 3), True)
        assert len(rel._cache()) <= 4
        clone = copy.deepcopy(rel)
        assert len(clone._cache()) == 0 and _same(clone((6, 5), True), rel((6, 5), True))
    assert set(rel.state_dict()) == {'angle', 'decay'}
    with fast_path(False):
        assert rel((6, 5), True) is not rel((6, 5), True)


@needs_cpu_mask
def test_cached_tables_after_inference_still_train():
    """Tables made under inference mode are not reused by a forward that records autograd (the
    fused kernel saves its mask for backward)."""
    rel = RetentionRelPos2d(32, 4, 2, 4)
    attn = VisionRetention(32, 4, False)
    x = torch.randn(1, 5, 4, 32)
    with fast_path(True):
        with torch.inference_mode():
            attn(x, rel((5, 4), False))
        attn(x, rel((5, 4), False)).sum().backward()
    assert attn.q_proj.weight.grad is not None


@needs_cpu_mask
@pytest.mark.parametrize('decomposed', [True, False])
def test_cpu_runs_flash_attention_not_the_math_fallback(decomposed):
    """The fused path must reach torch's CPU flash kernel (no (L x S) matrix), not its math
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
