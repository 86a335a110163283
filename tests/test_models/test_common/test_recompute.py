"""with_cp (models/common/recompute.py): selective recomputes only the cheap ops; bad values are
named. That every backbone and style keeps its outputs and gradients under with_cp is
test_backbone_contract.py's."""
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from restv2_mm.models import RMT, ResTv2
from restv2_mm.models.common.recompute import check_cp_mode, selective_available

# Selective checkpointing needs torch >= 2.4; on an older torch asking for it raises (last test).
needs_selective = pytest.mark.skipif(not selective_available(),
                                     reason="with_cp='selective' needs torch >= 2.4")


class OpCounter(TorchDispatchMode):
    """Counts the aten ops that run (forward recomputation shows up inside backward)."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def backward_ops(cls, mode):
    torch.manual_seed(0)
    model = cls('tiny', with_cp=mode).train()
    outs = model(torch.randn(1, 3, 64, 64))
    loss = sum(o.mean() for o in outs)
    with OpCounter() as counter:
        loss.backward()
    return counter.counts


@needs_selective
@pytest.mark.parametrize('cls', [ResTv2, RMT])
def test_selective_recomputes_the_cheap_ops_and_keeps_the_matmuls(cls):
    """In backward, 'full' recomputes whole blocks (their GEMMs too); 'selective' recomputes the
    LayerNorms (and, in ResTv2's MLP, GELU) but no GEMM, which it kept from the forward."""
    none, selective, full = (backward_ops(cls, m) for m in (False, 'selective', 'full'))
    gemms = [sum(c[op] for op in ('mm', 'addmm', 'bmm')) for c in (none, selective, full)]
    assert gemms[1] == gemms[0] < gemms[2], gemms
    assert none['native_layer_norm'] == 0
    assert selective['native_layer_norm'] > 0 and full['native_layer_norm'] > 0


@pytest.mark.parametrize('value', ['partial', 2, 'Full'])
def test_bad_with_cp(value):  # B36
    with pytest.raises(ValueError, match=r"with_cp must be False, True \(= 'full'\) or 'selective'"):
        ResTv2('tiny', with_cp=value)
    assert check_cp_mode(True) == 'full'
    if selective_available():
        assert check_cp_mode('selective') == 'selective'
    else:  # an older torch: the request names the feature and the version it needs
        with pytest.raises(RuntimeError, match=r"with_cp='selective' needs torch >= 2\.4"):
            check_cp_mode('selective')
        with pytest.raises(RuntimeError, match=r"with_cp='selective' needs torch >= 2\.4"):
            ResTv2('tiny', with_cp='selective')
