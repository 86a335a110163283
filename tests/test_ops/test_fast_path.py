"""The one fast-path switch of restv2_mm.ops: fast paths equal their references, the switch turns
them off everywhere (context manager, environment variable, tracing), and a whole model follows it."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import restv2_mm.ops as ops
from restv2_mm.models import ResTv2


def explicit_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d) + mask) v, written out here independently of the package."""
    logits = torch.einsum('...ld,...sd->...ls', q, k) / q.shape[-1] ** 0.5
    if mask is not None:
        logits = logits + mask
    return torch.einsum('...ls,...sd->...ld', logits.softmax(-1), v)


@pytest.mark.parametrize('enabled', [True, False])
@pytest.mark.parametrize('masked', [False, True])
def test_attention_both_paths_equal_the_definition(enabled, masked):
    q, k, v = torch.randn(2, 3, 50, 16), torch.randn(2, 3, 7, 16), torch.randn(2, 3, 7, 24)
    mask = torch.randn(3, 50, 7) if masked else None
    with ops.fast_path(enabled):
        out = ops.attention(q, k, v, attn_mask=mask)
    assert out.shape == (2, 3, 50, 24)
    assert torch.allclose(out, explicit_attention(q, k, v, mask), atol=1e-5)


@pytest.mark.parametrize('grad', [False, True])
def test_mlp_and_linear_add_paths_equal_the_plain_modules(grad):
    fc1, fc2 = nn.Linear(32, 128), nn.Linear(128, 32)
    for p in (*fc1.parameters(), *fc2.parameters()):
        p.requires_grad_(grad)
    x, res = torch.randn(5, 40, 32, requires_grad=grad), torch.randn(5, 40, 32)
    want_mlp = res + fc2(F.gelu(fc1(x)))
    for enabled in (True, False):
        with ops.fast_path(enabled), torch.set_grad_enabled(grad):
            got = ops.mlp_gelu(x, fc1, fc2, res)
            assert torch.allclose(got, want_mlp, atol=1e-5)
            proj = nn.Linear(32, 32)
            assert torch.allclose(ops.linear_add(x, proj, res), res + proj(x), atol=1e-5)
            assert torch.allclose(ops.linear_add(x, proj), proj(x), atol=1e-6)
        if grad:
            g_fast = torch.autograd.grad(got.sum(), (x, fc1.weight, fc2.weight))
            g_ref = torch.autograd.grad(want_mlp.sum(), (x, fc1.weight, fc2.weight),
                                        retain_graph=True)
            for a, b in zip(g_fast, g_ref):
                assert torch.allclose(a, b, atol=1e-4)


def test_switch_nesting_environment_and_tracing(monkeypatch):
    monkeypatch.delenv(ops.FAST_PATH_ENV, raising=False)
    assert ops.fast_path_enabled()
    with ops.fast_path(False):
        assert not ops.fast_path_enabled()
        with ops.fast_path(True):
            assert ops.fast_path_enabled()
        assert not ops.fast_path_enabled()
    monkeypatch.setenv(ops.FAST_PATH_ENV, '0')
    assert not ops.fast_path_enabled()
    with ops.fast_path(True):  # an explicit block wins over the environment
        assert ops.fast_path_enabled()
    monkeypatch.setenv(ops.FAST_PATH_ENV, 'maybe')
    with pytest.raises(ValueError, match='RESTV2_FAST_PATH must be one of'):  # B31
        ops.fast_path_enabled()
    monkeypatch.delenv(ops.FAST_PATH_ENV)
    seen = []

    def probe(x):
        seen.append(ops.fast_path_enabled())
        return x * 2
    torch.jit.trace(probe, torch.ones(2), check_trace=False)
    assert seen == [False]  # traces keep the references' portable aten ops


def test_model_takes_the_reference_path_when_switched_off(monkeypatch):
    """With the switch off no fused kernel runs (SDPA nor oneDNN), and the outputs are the same."""
    model = ResTv2('tiny').eval()
    model.init_weights()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        fast = model(x)
        calls = []
        real_sdpa = F.scaled_dot_product_attention
        monkeypatch.setattr(F, 'scaled_dot_product_attention',
                            lambda *a, **k: calls.append('sdpa') or real_sdpa(*a, **k))
        with ops.fast_path(False):
            ref = model(x)
        assert calls == []
        model(x)
        assert calls  # and on again afterwards
    for a, b in zip(fast, ref):
        assert torch.allclose(a, b, atol=1e-4)
