"""with_cp (models/common/recompute.py): full and selective checkpointing give the gradients of no
checkpointing, in every fine-tuning style, for ResTv1 and RMT too; selective recomputes only the
cheap ops."""
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from restv2_mm.models import RMT, ResTv1, ResTv2
from restv2_mm.models.common.recompute import check_cp_mode, selective_available

# Selective checkpointing needs torch >= 2.4; on an older torch asking for it raises (last test).
MODES = ('selective', 'full') if selective_available() else ('full', )
needs_selective = pytest.mark.skipif(not selective_available(),
                                     reason="with_cp='selective' needs torch >= 2.4")

STYLES = ['global', 'win', 'cwin', 'hwin']
WINDOWS = (8, 4, 2, 2)  # small windows: the 64x96 input needs padding in the first stages


def run(model, x):
    model.train()
    outs = model(x)
    loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).mean() for o in outs)
    loss.backward()
    return [o.detach() for o in outs], {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize('style', STYLES)
def test_checkpointing_keeps_outputs_and_gradients(style):
    torch.manual_seed(0)
    ref = ResTv2('tiny', style=style, window_size=WINDOWS)
    ref.init_weights()
    if style == 'cwin':  # zero-initialised: give the convs weights so that their gradients count
        for i in range(1, 5):
            torch.nn.init.normal_(getattr(ref, f'cwin_conv{i}').weight, std=0.05)
    x = torch.randn(2, 3, 64, 96)
    want_out, want_grad = run(ref, x)
    for mode in MODES:
        model = ResTv2('tiny', style=style, window_size=WINDOWS, with_cp=mode)
        model.load_state_dict(ref.state_dict())
        out, grad = run(model, x)
        for a, b in zip(out, want_out):
            assert torch.allclose(a, b, atol=1e-5), mode
        for name, g in want_grad.items():
            assert torch.allclose(grad[name], g, atol=1e-5, rtol=1e-4), (mode, name)


@pytest.mark.parametrize('mode', [pytest.param('selective', marks=needs_selective), 'full'])
def test_restv1_checkpointing_keeps_gradients(mode):
    """ResTv1 (BatchNorm stem, MHIM's explicit attention) through the same with_cp modes."""
    torch.manual_seed(0)
    ref = ResTv1('lite')
    ref.init_weights()
    x = torch.randn(2, 3, 64, 96)
    want_out, want_grad = run(ref, x)
    model = ResTv1('lite', with_cp=mode)
    model.load_state_dict(ref.state_dict())  # BatchNorm statistics too: both start alike
    out, grad = run(model, x)
    for a, b in zip(out, want_out):
        assert torch.allclose(a, b, atol=1e-5)
    for name, g in want_grad.items():
        assert torch.allclose(grad[name], g, atol=1e-5, rtol=1e-4), name


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
