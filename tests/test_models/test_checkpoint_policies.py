"""The policies of with_cp='selective' (grad_checkpoint.SELECTIVE_POLICIES): each gives the
gradients of no checkpointing, and each recomputes in backward what it says it does."""
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from restv2_mm.models import RMT, ResTv2
from restv2_mm.models.common import grad_checkpoint as gc

pytestmark = pytest.mark.skipif(not gc.selective_available(),
                                reason="with_cp='selective' needs torch >= 2.4")


class GemmCounter(TorchDispatchMode):
    """Counts GEMMs (by whether they widen their rows, as fc1 does) and fused attentions."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet = func.overloadpacket
        if packet in gc._GEMMS:
            self.counts['widening' if gc._widening(func, args) else 'gemm'] += 1
        elif packet in gc.SAVED_OPS:
            self.counts['attention'] += 1
        return func(*args, **(kwargs or {}))


def _step(cls, policy, count=False):
    torch.manual_seed(0)
    model = cls('tiny', with_cp='selective' if policy else False).train()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    model.double()
    with gc.selective_policy(policy or gc.DEFAULT_SELECTIVE_POLICY):
        outs = model(x)
    loss = sum((o * torch.linspace(-1, 1, o.numel(), dtype=o.dtype).view_as(o)).mean()
               for o in outs)
    with GemmCounter() as counter:
        loss.backward()
    return [p.grad for p in model.parameters()], counter.counts


@pytest.mark.slow
@pytest.mark.parametrize('cls', [ResTv2, RMT])
def test_every_policy_keeps_gradients_and_recomputes_what_it_says(cls):
    want, base = _step(cls, None)
    recomputed = {}
    for policy in gc.SELECTIVE_POLICIES:
        grads, counts = _step(cls, policy)
        for a, b in zip(grads, want):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
        recomputed[policy] = {k: counts[k] - base[k] for k in ('gemm', 'widening', 'attention')}
    assert recomputed['gemm'] == dict(gemm=0, widening=0, attention=0)
    assert recomputed['narrow']['widening'] > 0
    assert recomputed['narrow']['gemm'] == recomputed['narrow']['attention'] == 0
    # 'early': the fc1 of stages 1-3 only; the last stage's (K = 768 / 512) are kept
    assert 0 < recomputed['early']['widening'] < recomputed['narrow']['widening']
    assert recomputed['early']['gemm'] == recomputed['early']['attention'] == 0
    assert recomputed['attention']['gemm'] > 0 and recomputed['attention']['widening'] > 0
    assert recomputed['attention']['attention'] == 0


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="selective policy must be one of"):
        with gc.selective_policy('fc1'):
            pass
