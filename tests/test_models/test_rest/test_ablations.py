"""The paper's ablations of EMSAv2 / ResTv2 (Table 2a-d, appendices B and E), as the modules
:func:`build_emsa` picks: what each computes, the keys each adds or removes, any input size, and
bad values."""
import math
import re

import pytest
import torch
import torch.nn.functional as F

from restv2_mm.models import ResTv1, ResTv2
from restv2_mm.models.rest import (
                                   EMSA,
                                   DownUpConvNet,
                                   EMSAv2,
                                   EMSAv2RPE,
                                   EMSAv2UpK,
                                   EMSAv2UpMode,
                                   EMSAv2UpX,
                                   build_emsa,
                                   relative_position,
)
from restv2_mm.ops import fast_path

TINY_DIMS = [96, 192, 384, 768]


def reference(attn, x: torch.Tensor, hw, up_target='v', up_mode='pixel_shuffle', branches='both',
              mhim=False, rpe_size=None) -> torch.Tensor:
    """The attention for the switches written out from the paper's definitions: eq. 2 (section
    3.2), Table 2a-c, appendix B (MHIM: 1x1 conv over heads before the softmax, InstanceNorm after
    it) and appendix E (RPE: Softmax(Q (K + P)^T / sqrt(d))); the module gives only weights."""
    n, length, c = x.shape
    h, w = hw
    heads, r = attn.num_heads, attn.sr_ratio
    d = c // heads
    if r > 1:
        m = attn.sr(x.transpose(1, 2).reshape(n, c, h, w))
        hk, wk = m.shape[-2:]
        xr = attn.sr_norm(m.flatten(2).transpose(1, 2))
    else:
        xr, hk, wk = x, h, w

    def up(t):
        m = t.transpose(1, 2).reshape(n, c, hk, wk)
        if up_mode == 'pixel_shuffle':
            m = F.pixel_shuffle(F.conv2d(m, attn.up[0].weight, attn.up[0].bias, padding=1,
                                         groups=c), r)
        elif r > 1:
            m = F.interpolate(m, scale_factor=r, mode=up_mode)
        m = m[:, :, :h, :w].flatten(2).transpose(1, 2)
        return attn.up_norm(m) if up_mode == 'pixel_shuffle' else m

    if branches == 'conv':
        return attn.proj(up(xr if up_target == 'x' else attn.v(xr)))
    kv = attn.kv(xr)
    key, value = kv[..., :c], kv[..., c:]
    q = attn.q(x).reshape(n, length, heads, d).transpose(1, 2)
    k = key.reshape(n, -1, heads, d).transpose(1, 2)
    v = value.reshape(n, -1, heads, d).transpose(1, 2)
    if rpe_size is not None:
        k = k + (attn.rel_pos_h + attn.rel_pos_w).reshape(heads, hk * wk, d)
    a = (q @ k.transpose(-2, -1)) * d ** -0.5
    if mhim and heads > 1:
        a = attn.transform_norm(attn.transform_conv(a).softmax(-1))
    else:
        a = a.softmax(-1)
    out = (a @ v).transpose(1, 2).reshape(n, length, c)
    if up_target != 'none' and branches != 'attn':
        out = out + up({'x': xr, 'k': key, 'v': value}[up_target])
    return attn.proj(out)


SWITCHES = [  # (switches, the module build_emsa gives)
    (dict(), EMSAv2), (dict(up_target='k'), EMSAv2UpK), (dict(up_target='x'), EMSAv2UpX),
    (dict(up_target='none'), EMSA), (dict(branches='attn'), EMSA),
    (dict(up_mode='nearest'), EMSAv2UpMode), (dict(up_mode='bilinear'), EMSAv2UpMode),
    (dict(branches='conv'), DownUpConvNet), (dict(branches='conv', up_target='x'), DownUpConvNet),
    (dict(branches='conv', up_mode='nearest'), DownUpConvNet), (dict(mhim=True), EMSAv2),
    (dict(mhim=True, up_target='none'), EMSA), (dict(mhim=True, up_target='k'), EMSAv2UpK),
    (dict(rpe_size='the input size'), EMSAv2RPE),
    (dict(rpe_size='the input size', mhim=True), EMSAv2RPE),
]


@pytest.mark.parametrize('switches,cls', SWITCHES, ids=lambda k: str(k) if isinstance(k, dict)
                         else k.__name__)
@pytest.mark.parametrize('heads,r,hw', [(2, 4, (12, 16)), (2, 1, (12, 16)), (4, 2, (11, 7))])
def test_each_ablation_computes_the_paper_definition(switches, cls, heads, r, hw):
    if 'rpe_size' in switches:  # tables of the keys' size (resizing: test_rpe_and_ape_are_resized)
        switches = dict(switches, rpe_size=hw)
    attn = build_emsa(32, heads, r, **switches).eval()
    assert type(attn) is cls
    for p in attn.parameters():  # LayerNorms start at 1/0: perturb them too
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(2, hw[0] * hw[1], 32, dtype=torch.float64)
    attn.double()
    with torch.no_grad():
        want = reference(attn, x, hw, **switches)
        for fast in (True, False):
            with fast_path(fast):
                torch.testing.assert_close(attn(x, hw), want, rtol=1e-10, atol=1e-10)


def test_emsa_and_emsav2_are_the_papers_modules():
    """ResTv1's EMSA has the multi-head interaction and no upsampling; EMSAv2 (the default of
    build_emsa) has the upsampling branch and no interaction (ResTv2 section 3.2)."""
    emsa, emsav2 = EMSA(32, 2, 2), build_emsa(32, 2, 2)
    assert type(emsav2) is EMSAv2 and isinstance(emsav2, EMSA)
    assert emsa.mhim and hasattr(emsa, 'transform_conv') and not hasattr(emsa, 'up')
    assert not emsav2.mhim and not hasattr(emsav2, 'transform_conv')
    assert {n.split('.')[0] for n, _ in emsav2.named_parameters()} == {
        'q', 'kv', 'sr', 'sr_norm', 'up', 'up_norm', 'proj'}


def keys(model) -> dict:
    """State-dict keys with shapes, block indices collapsed (``stage2.{i}.attn.q.weight``)."""
    return {re.sub(r'^(stage\d)\.\d+\.', r'\1.{i}.', k): tuple(v.shape)
            for k, v in model.state_dict().items()}


DEFAULT = None


def key_change(**kwargs):
    global DEFAULT
    DEFAULT = DEFAULT or keys(ResTv2('tiny'))
    new = keys(ResTv2('tiny', **kwargs))
    return sorted(set(DEFAULT) - set(new)), {k: new[k] for k in sorted(set(new) - set(DEFAULT))}


def test_switch_keys_up_target_up_mode_branches():
    up = [f'stage{s}.{{i}}.attn.{m}.{p}' for s in range(1, 5) for m in ('up.0', 'up_norm')
          for p in ('bias', 'weight')]
    assert key_change(up_target='x') == ([], {}) == key_change(up_target='k')
    for kwargs in (dict(up_target='none'), dict(branches='attn'), dict(up_mode='nearest'),
                   dict(up_mode='bilinear')):
        assert key_change(**kwargs) == (sorted(up), {}), kwargs
    removed, added = key_change(branches='conv')
    assert removed == sorted(f'stage{s}.{{i}}.attn.{m}.{p}' for s in range(1, 5)
                             for m in ('q', 'kv') for p in ('bias', 'weight'))
    assert added == {f'stage{s}.{{i}}.attn.v.{p}': (c, c) if p == 'weight' else (c, )
                     for s, c in zip(range(1, 5), TINY_DIMS) for p in ('bias', 'weight')}
    assert key_change(branches='conv', up_target='x')[1] == {}


def test_switch_keys_mhim_and_positions():
    # MHIM: a 1x1 conv over the heads where k > 1 (stages 2-4 of ResTv2-T); InstanceNorm has none.
    assert key_change(mhim=True) == ([], {
        f'stage{s}.{{i}}.attn.transform_conv.{p}': (k, k, 1, 1) if p == 'weight' else (k, )
        for s, k in ((2, 2), (3, 4), (4, 8)) for p in ('bias', 'weight')})
    embeds = ['stem'] + [f'patch_{i}' for i in range(2, 5)]
    pa = sorted(f'{e}.pos.pa_conv.{p}' for e in embeds for p in ('bias', 'weight'))
    assert key_change(pos_embed='none') == (pa, {})
    assert key_change(pos_embed='peg') == (
        pa, {k.replace('pa_conv', 'gl_conv'): DEFAULT[k] for k in pa})
    # APE: one (1, C_i, H_i, W_i) table per embedding, at the 224 input's 56, 28, 14, 7.
    assert key_change(pos_embed='ape') == (pa, {
        f'{e}.pos.pos_embed': (1, c, s, s) for e, c, s in zip(embeds, TINY_DIMS, (56, 28, 14, 7))})
    # RPE: per block (k, h', 1, d) and (k, 1, w', d); the keys are 7x7 in every stage at 224.
    removed, added = key_change(pos_embed='rpe')
    assert removed == pa
    assert added == {f'stage{s}.{{i}}.attn.rel_pos_{a}': (k, 7, 1, c // k) if a == 'h' else
                     (k, 1, 7, c // k) for s, k, c in zip(range(1, 5), (1, 2, 4, 8), TINY_DIMS)
                     for a in 'hw'}


def test_rpe_and_ape_are_resized():
    model = ResTv2('tiny', pos_embed='rpe', pretrain_img_size=(224, 192))
    assert model.stage1[0].attn.rel_pos_w.shape == (1, 1, 6, 96)  # 192 -> 48 -> keys 6
    h = torch.arange(3.).view(1, 3, 1, 1).expand(2, 3, 1, 4)
    w = torch.zeros(2, 1, 5, 4)
    p = relative_position(h, w, (3, 5))
    assert p.shape == (2, 15, 4) and torch.equal(p.view(2, 3, 5, 4)[:, :, 0, 0], h[:, :, 0, 0])
    resized = relative_position(h, w, (6, 10))  # linear: a ramp stays a ramp, end values kept
    assert resized.shape == (2, 60, 4)
    ramp = resized.view(2, 6, 10, 4)[0, :, 0, 0]
    assert torch.all(ramp[1:] >= ramp[:-1]) and ramp[0] == 0 and ramp[-1] == 2
    ape = ResTv2('tiny', pos_embed='ape').stem.pos.eval()
    x = torch.zeros(1, 96, 56, 56)
    assert torch.equal(ape(x), ape.pos_embed.expand_as(x))  # at 224: the table itself
    assert ape(torch.zeros(1, 96, 9, 13)).shape == (1, 96, 9, 13)


MODELS = [
    dict(up_target='k'), dict(up_target='x'), dict(up_target='none'), dict(up_mode='nearest'),
    dict(up_mode='bilinear'), dict(branches='conv'), dict(branches='conv', up_target='x'),
    dict(mhim=True), dict(pos_embed='none'), dict(pos_embed='peg'), dict(pos_embed='ape'),
    dict(pos_embed='rpe'), dict(pos_embed='rpe', mhim=True, style='hwin', window_size=4),
    dict(up_mode='bilinear', style='cwin', window_size=4),
]


@pytest.mark.parametrize('kwargs', MODELS, ids=str)
def test_every_switch_at_any_size_trains_and_infers(kwargs):
    arch = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                sr_ratios=[8, 4, 2, 1])
    model = ResTv2(arch, drop_path_rate=0.1, **kwargs)
    model.init_weights()
    for hw in ((33, 47), (64, 40)):
        outs = model.train()(torch.randn(2, 3, *hw))
        sum(o.mean() for o in outs).backward()
        with torch.no_grad():
            outs = model.eval()(torch.randn(1, 3, *hw))
        h, w = (math.ceil(math.ceil(s / 2) / 2) for s in hw)
        for i, out in enumerate(outs):
            assert out.shape == (1, 16 * 2**i, h, w) and torch.isfinite(out).all()
            h, w = math.ceil(h / 2), math.ceil(w / 2)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize('kwargs,exc,words', [
    (dict(up_target='q'), ValueError, ['up_target', "('v', 'k', 'x', 'none')", "'q'"]),  # B50
    (dict(up_mode='bicubic'), ValueError,
     ['up_mode', "('pixel_shuffle', 'nearest', 'bilinear')", "'bicubic'"]),  # B51
    (dict(branches='mlp'), ValueError, ['branches', "('both', 'attn', 'conv')"]),  # B52
    (dict(pos_embed='sin'), ValueError,
     ['pos_embed', "('pa', 'peg', 'ape', 'rpe', 'none')", "'sin'"]),  # B53
    (dict(mhim='yes'), TypeError, ['mhim', 'True or False', "'yes'"]),  # B54
    (dict(branches='attn', up_target='k'), ValueError,
     ["branches='attn'", 'up_target', "'v' (the default) or 'none'", "'k'"]),  # B55
    (dict(branches='conv', up_target='k'), ValueError,
     ["branches='conv'", "up_target must be 'v' or 'x'", "'k'"]),  # B56
    (dict(branches='conv', up_target='none'), ValueError, ["branches='conv'", 'up_target']),  # B56
    (dict(branches='conv', mhim=True), ValueError, ["branches='conv'", 'mhim=True']),  # B56
    (dict(branches='conv', pos_embed='rpe'), ValueError,
     ["branches='conv'", "pos_embed='rpe'"]),  # B56
    (dict(up_target='none', up_mode='nearest'), ValueError,
     ["up_mode='nearest'", "up_target='none'", 'no upsampling branch']),  # B57
    (dict(branches='attn', up_mode='bilinear'), ValueError,
     ["up_mode='bilinear'", "branches='attn'"]),  # B57
    (dict(pretrain_img_size=0), ValueError, ['pretrain_img_size', 'positive', '0']),  # B58
    (dict(pretrain_img_size=(224, )), ValueError, ['pretrain_img_size', '(224,)']),  # B58
])
def test_bad_switches(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ResTv2('tiny', **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize('kwargs', [
    dict(up_target='k', up_mode='nearest'), dict(up_target='x', pos_embed='rpe'),
    dict(up_mode='bilinear', pos_embed='rpe'), dict(up_target='none', pos_embed='rpe')])
def test_ablations_of_different_tables_do_not_combine(kwargs):
    """The paper varies one of Table 2a, Table 2b and appendix E at a time; two at once are refused
    with the arguments named."""
    with pytest.raises(ValueError) as info:
        ResTv2('tiny', **kwargs)
    for name, value in kwargs.items():
        assert name in str(info.value) and repr(value).strip("'") in str(info.value)


def test_restv1_checks_its_switches_alike():
    with pytest.raises(ValueError, match='up_target must be one of'):  # B50
        ResTv1('lite', up_target='q')
    with pytest.raises(TypeError, match='mhim must be True or False'):  # B54
        ResTv1('lite', mhim=1)
