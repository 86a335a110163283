"""The OpenMMLab backbone contract, checked on every registered backbone and ResTv2 style: frozen
stages, norm_eval, with_cp (same outputs and gradients), inputs of any size, bad inputs (errors
that name them) and the checkpoint round trip (save -> load into a new instance -> same outputs).

Narrow archs (16..128 channels, one block a stage) and small inputs: none of these properties
depends on the width. What is particular to a family (paper counts, official equivalence, goldens)
stays in its own test file.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from restv2_mm.models import RMT, STYLES, ResTv1, ResTv2, RMTSwin, selective_available
from restv2_mm.registry import BACKBONES

NARROW = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])
NARROW_RMT = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 4],
                  mlp_ratios=[3] * 4, init_values=[2] * 4, heads_ranges=[4] * 4,
                  chunkwise_recurrents=[True, True, False, False], layerscales=[False] * 4)
NARROW_RMT_SWIN = dict(RMTSwin.arch_zoo['swin-t'], embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                       num_heads=[1, 1, 2, 4])
WINDOWS = (8, 4, 2, 2)  # smaller than the stage maps of 33x47 and 64x64: windows with padding
CP_MODES = ('full', 'selective') if selective_available() else ('full', )


def rest_prefixes(embed: str, extra: str = '') -> Callable[[int], Tuple[str, ...]]:
    """What ``frozen_stages=k`` freezes in a ResT backbone, by the release's module names: the stem,
    then stage i with the patch embedding into it (``{embed}{i}``, i > 1) and its ``{extra}{i}``."""
    def prefixes(k):
        names = ['stem.'] if k >= 0 else []
        for i in range(1, k + 1):
            names += [f'stage{i}.'] + ([f'{extra}{i}.'] if extra else []) + \
                ([f'{embed}{i}.'] if i > 1 else [])
        return tuple(names)
    return prefixes


def rmt_prefixes(k):
    """RMT's: the stem (``patch_embed``), then layer i - 1's blocks and decay (``Relpos``) and the
    patch merging at the end of the layer before (it leads into stage i)."""
    names = ['patch_embed.'] if k >= 0 else []
    for i in range(1, k + 1):
        names += [f'layers.{i - 1}.blocks.', f'layers.{i - 1}.Relpos']
        if i > 1:
            names.append(f'layers.{i - 2}.downsample.')
    return tuple(names)


def pvt_emsav2(**kwargs):
    from restv2_mm.models import PVTEMSAv2
    return PVTEMSAv2(num_layers=[1, 1, 1, 1], embed_dims=16, **kwargs)


@dataclass(frozen=True)
class Case:
    name: str  # the registered name
    build: Callable[..., nn.Module]  # keyword arguments -> a narrow model
    frozen: Optional[Callable[[int], Tuple[str, ...]]]  # None: no frozen_stages/norm_eval/with_cp
    # Sizes the model takes; each output side is the input's halved (rounded up) 2 + i times.
    sizes: Tuple[Tuple[int, int], ...] = ((1, 1), (33, 47), (64, 64))
    marks: tuple = field(default=())


def _style(style):
    return lambda **kw: ResTv2(NARROW, style=style, **({} if style == 'global' else
                                                       dict(window_size=WINDOWS)), **kw)


CASES = [Case('ResTv2', _style(style), rest_prefixes('patch_', 'cwin_conv')) for style in STYLES] + [
    # ResTv1's multi-head interaction needs maps above 1x1 at stride 32 (test_bad_input.py).
    Case('ResTv1', lambda **kw: ResTv1(NARROW, **kw), rest_prefixes('patch_embed_'),
         sizes=((33, 47), (64, 64))),
    Case('RMT', lambda **kw: RMT(NARROW_RMT, **kw), rmt_prefixes),
    Case('RMTSwin', lambda **kw: RMTSwin(NARROW_RMT_SWIN, **kw), rmt_prefixes),
    # mmdet's PVT: no frozen_stages, norm_eval or with_cp; the branch takes sides that divide.
    Case('PVTEMSAv2', pvt_emsav2, None, sizes=((64, 64), (64, 96)), marks=(pytest.mark.mmcv_ops, )),
]
IDS = [c.name + (f'-{s}' if c.name == 'ResTv2' else '') for c, s in
       zip(CASES, list(STYLES) + [None] * (len(CASES) - len(STYLES)))]
PARAMS = [pytest.param(c, id=i, marks=c.marks) for c, i in zip(CASES, IDS)]
WITH_FREEZING = [p for p, c in zip(PARAMS, CASES) if c.frozen is not None]


def test_every_registered_backbone_and_style_has_a_case():
    assert sorted({c.name for c in CASES}) == sorted(name for name, _ in BACKBONES)
    assert IDS[:len(STYLES)] == [f'ResTv2-{s}' for s in STYLES]


def built(case, **kwargs):
    """The narrow model, initialised as its family does, every parameter non-zero (CWin's
    zero-initialised convs too, so that their gradients count)."""
    model = case.build(**kwargs)
    model.init_weights()
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.normal_(std=0.05)
    return model


def train_step(model, x):
    """Outputs and parameter gradients of one training forward/backward (a loss that weights
    every position differently)."""
    model.train()
    outs = model(x)
    loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).mean() for o in outs)
    loss.backward()
    return [o.detach() for o in outs], {n: p.grad.clone() for n, p in model.named_parameters()
                                        if p.grad is not None}


@pytest.mark.parametrize('frozen_stages', [0, 2, 4])
@pytest.mark.parametrize('case', WITH_FREEZING)
def test_frozen_stages(case, frozen_stages):
    """Frozen parameters take no gradient and frozen modules (their BatchNorms and LayerNorms) stay
    in eval mode in training; the rest trains, the output norms too."""
    model = case.build(frozen_stages=frozen_stages).train()
    frozen = case.frozen(frozen_stages)
    for name, p in model.named_parameters():
        assert p.requires_grad != name.startswith(frozen), name
    norms = 0
    for name, m in model.named_modules():
        if f'{name}.'.startswith(frozen):
            assert not m.training, name
            norms += isinstance(m, (_BatchNorm, nn.LayerNorm))
        elif name:
            assert m.training, name
    assert norms > 0
    outs = model(torch.randn(2, 3, 64, 64))
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith(frozen))


@pytest.mark.parametrize('case', WITH_FREEZING)
def test_norm_eval(case):
    """``norm_eval=True`` keeps every BatchNorm in eval mode (running statistics unchanged by a
    training forward); without it they update."""
    x = torch.randn(2, 3, 64, 64) * 3 + 1
    for norm_eval in (True, False):
        model = case.build(norm_eval=norm_eval).train()
        bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
        assert bns and all(bn.training != norm_eval for bn in bns)
        before = [bn.running_mean.clone() for bn in bns]
        model(x)
        changed = [not torch.equal(a, bn.running_mean) for a, bn in zip(before, bns)]
        assert not any(changed) if norm_eval else all(changed), norm_eval


@pytest.mark.parametrize('mode', CP_MODES)
@pytest.mark.parametrize('case', WITH_FREEZING)
def test_with_cp_keeps_outputs_and_gradients(case, mode):
    """Recomputation is exact up to float32 rounding of the recomputed reductions (1e-5)."""
    ref = built(case)
    x = torch.randn(2, 3, 33, 47)
    want_out, want_grad = train_step(ref, x)
    model = case.build(with_cp=mode)
    model.load_state_dict(ref.state_dict())  # BatchNorm statistics too: both start alike
    out, grad = train_step(model, x)
    for a, b in zip(out, want_out):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert grad.keys() == want_grad.keys()
    for name, g in want_grad.items():
        torch.testing.assert_close(grad[name], g, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize('case', [p for p, c in zip(PARAMS, CASES) if c.frozen is None])
@pytest.mark.parametrize('argument', ['frozen_stages', 'norm_eval', 'with_cp'])
def test_arguments_it_lacks_are_refused(case, argument):
    """A backbone without these arguments (mmdet's PVT) refuses them by name, never ignores them."""
    with pytest.raises(TypeError, match=argument):
        case.build(**{argument: 1})


@pytest.mark.parametrize('case', PARAMS)
def test_any_input_size(case):
    """Every stage's output is the input halved, rounded up, 2 + i times; it trains (finite
    gradients reach the input) and infers."""
    model = built(case)
    for h, w in case.sizes:
        x = torch.randn(2, 3, h, w, requires_grad=True)
        outs, _ = train_step(model, x)
        want = [(math.ceil(h / 2 ** (2 + i)), math.ceil(w / 2 ** (2 + i))) for i in range(4)]
        assert [tuple(o.shape[2:]) for o in outs] == want, (h, w)
        assert all(torch.isfinite(o).all() for o in outs) and torch.isfinite(x.grad).all()
        assert x.grad.abs().sum() > 0
        with torch.no_grad():
            assert all(torch.isfinite(o).all() for o in model.eval()(x))


BAD_INPUTS = [
    # B01-B06 (ResTv2), B40 (RMT): every backbone names itself, x and what was expected.
    (lambda: torch.randn(3, 32, 32), ValueError, ['input x must be 4-D', '(3, 32, 32)']),  # B01
    (lambda: torch.randn(1, 1, 3, 32, 32), ValueError, ['input x must be 4-D']),  # B01
    (lambda: torch.randn(1, 4, 32, 32), ValueError, ['input x has 4 channels', 'in_channels=3']),  # B02
    (lambda: torch.zeros(1, 3, 32, 32, dtype=torch.uint8), TypeError, ['float', 'uint8']),  # B03
    (lambda: torch.randn(0, 3, 32, 32), ValueError, ['N, H, W >= 1']),  # B04
    (lambda: torch.randn(1, 3, 32, 0), ValueError, ['N, H, W >= 1']),  # B04
    (lambda: [[1.0]], TypeError, ['torch.Tensor', 'list']),  # B05
    (lambda: torch.full((1, 3, 64, 64), float('nan')), ValueError,
     ['NaN', '(n, c, h, w) = (0, 0, 0, 0)']),  # B06, B40
]


@pytest.mark.parametrize('case', [
    p if c.frozen is not None else pytest.param(c, id=i, marks=(*c.marks, pytest.mark.xfail(
        strict=True, reason="PVTEMSAv2 checks only its input's size; mmdet's PVT fails inside torch")))
    for p, c, i in zip(PARAMS, CASES, IDS)])
def test_bad_inputs_are_named(case):
    model = case.build(out_indices=(0, )).eval()
    for make, exc, words in BAD_INPUTS:
        with pytest.raises(exc) as info:
            model(make())
        message = str(info.value)
        assert message.startswith(f'{type(model).__name__} input x'), message
        for word in words:
            assert word in message, (word, message)


@pytest.mark.parametrize('case', PARAMS)
def test_checkpoint_round_trip(case, tmp_path):
    """A state dict saved as an OpenMMLab checkpoint (``backbone.`` keys) loads through
    ``init_cfg`` into a new instance, which then computes the same outputs."""
    src = built(case).eval()
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()}}, path)
    x = torch.randn(2, 3, 64, 64)
    dst = case.build(init_cfg=dict(type='Pretrained', checkpoint=str(path))).eval()
    with torch.no_grad():
        want = src(x)
        assert not all(torch.equal(a, b) for a, b in zip(dst(x), want))  # not the same by chance
        dst.init_weights()
        for a, b in zip(dst(x), want):
            assert torch.equal(a, b)
    assert dst.state_dict().keys() == src.state_dict().keys()
