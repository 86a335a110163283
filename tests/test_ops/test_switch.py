"""The one switch of restv2_mm.ops: nesting, the environment, tracing, threads, and a whole model
following it."""
import threading

import pytest
import torch
import torch.nn.functional as F

import restv2_mm.ops as ops
from restv2_mm.models import ResTv2


def test_nesting_environment_and_tracing(monkeypatch):
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
    with ops.fast_path(None):  # as the environment says
        assert not ops.fast_path_enabled()
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


def test_the_switch_holds_in_its_own_thread_only(monkeypatch):
    """Two threads, one inside ``fast_path(False)``, one outside, each sees its own setting while
    the other is inside its block (a module-level stack would leak one into the other)."""
    monkeypatch.delenv(ops.FAST_PATH_ENV, raising=False)
    barrier, seen = threading.Barrier(2, timeout=60), {}  # a broken switch fails, not hangs

    def worker(name, enabled):
        with ops.fast_path(enabled):
            barrier.wait()  # both inside their blocks
            seen[name] = ops.fast_path_enabled()
            barrier.wait()

    def plain():
        barrier.wait()
        seen['plain'] = ops.fast_path_enabled()
        barrier.wait()

    threads = [threading.Thread(target=worker, args=('off', False)), threading.Thread(target=plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {'off': False, 'plain': True}
    with ops.fast_path(False):  # a new thread starts from the environment, not from this block
        t = threading.Thread(target=lambda: seen.update(new=ops.fast_path_enabled()))
        t.start()
        t.join()
    assert seen['new'] is True


def test_model_takes_the_references_when_switched_off(monkeypatch):
    """With the switch off no fused kernel runs (no SDPA), and the outputs are the same."""
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
