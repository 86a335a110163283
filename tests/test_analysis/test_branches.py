"""The branch recorder (restv2_mm.analysis.branches) takes the right tensors: EMSAv2's
self-attention, Up(V) and their sum as the official ``Attention.forward`` computes them
(github.com/wofmanaf/ResT models/rest_v2.py, written out below from its equations, and run itself
where ``RESTV2_OFFICIAL_REST`` names a checkout); RMT's LCE and sum; and a wrong hook is caught."""
import os
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from official_rmt import load_official_file
from restv2_mm.analysis import RESTV2_BRANCHES, BranchRecorder, BranchSpec, branch_spec
from restv2_mm.models import RMT, ResTv1, ResTv2

TINY = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8], sr_ratios=[8, 4, 2, 1])
# A non-square input: every stage map is H x W with W = 1.5 H, divisible by its sr_ratio.
H, W = 64, 96
# float64 throughout: the recorder and the reference agree to ~1e-15; a wrong tensor is off by O(1).
ATOL = 1e-9


def tiny_restv2():
    torch.manual_seed(0)
    model = ResTv2(TINY).double().eval()
    for p in model.parameters():  # LayerNorm weights away from 1, biases away from 0: no accidental symmetry
        p.data.add_(0.05 * torch.randn_like(p))
    return model


def mixer_inputs(model, x):
    """{block: (input tokens of its attn, (H, W))} from a plain forward; the map size from the
    stage's stride (4 * 2**i)."""
    inputs = {}
    handles = [block.attn.register_forward_pre_hook(
        lambda m, args, name=name: inputs.__setitem__(name, args[0]))
        for name, block in model.named_modules() if hasattr(block, 'attn') and hasattr(block, 'mlp')]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return {name: (t, (x.shape[2] // 2 ** (1 + int(name[5])), x.shape[3] // 2 ** (1 + int(name[5]))))
            for name, t in inputs.items()}


def reference_branches(attn, x, size):
    """The official ``Attention.forward`` up to ``proj``, written out: (attention, Up(V), sum)."""
    h, w = size
    b, n, c = x.shape
    heads, r = attn.num_heads, attn.sr_ratio
    q = F.linear(x, attn.q.weight, attn.q.bias).reshape(b, n, heads, c // heads).permute(0, 2, 1, 3)
    kv_in = x
    if r > 1:
        kv_in = F.conv2d(x.permute(0, 2, 1).reshape(b, c, h, w), attn.sr.weight, attn.sr.bias, stride=r,
                         padding=r // 2, groups=c).reshape(b, c, -1).permute(0, 2, 1)
        kv_in = F.layer_norm(kv_in, (c, ), attn.sr_norm.weight, attn.sr_norm.bias, attn.sr_norm.eps)
    kv = F.linear(kv_in, attn.kv.weight, attn.kv.bias).reshape(b, -1, 2, heads, c // heads)
    k, v = kv.permute(2, 0, 3, 1, 4)
    weights = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(-1)
    out = (weights @ v).transpose(1, 2).reshape(b, n, c)
    up = F.conv2d(v.transpose(-1, -2).reshape(b, c, h // r, w // r), attn.up[0].weight, attn.up[0].bias,
                  padding=1, groups=c)
    up = F.pixel_shuffle(up, r).flatten(2).transpose(1, 2)
    up = F.layer_norm(up, (c, ), attn.up_norm.weight, attn.up_norm.bias, attn.up_norm.eps)
    return out, up, out + up


def official_branches(root, attn, x, size):
    """The official ``Attention`` itself, with our module's weights: its Up(V) is ``up_norm``'s
    output and its sum ``proj``'s input (module calls there)."""
    official = load_official_file(osp.join(root, 'models', 'rest_v2.py'))['Attention']
    module = official(attn.q.in_features, num_heads=attn.num_heads, sr_ratio=attn.sr_ratio).double()
    module.load_state_dict(attn.state_dict())
    seen = {}
    module.up_norm.register_forward_hook(lambda m, args, out: seen.__setitem__('up', out))
    module.proj.register_forward_pre_hook(lambda m, args: seen.__setitem__('com', args[0]))
    with torch.no_grad():
        module(x, *size)
    return seen['com'] - seen['up'], seen['up'], seen['com']


def as_tokens(maps):
    return maps.flatten(2).transpose(1, 2)


def recorded(model, x, recorder=None):
    recorder = recorder or BranchRecorder(model)
    with recorder, torch.no_grad():
        model(x)
    return dict(zip((name for name, _ in recorder.blocks), recorder.take()))


def mismatches(model, x, branches, reference=reference_branches):
    """(block, branch) pairs where the recorded tensor differs from the reference's."""
    bad = []
    for name, (tokens, size) in mixer_inputs(model, x).items():
        expected = reference(model.get_submodule(name).attn, tokens, size)
        for key, want in zip(('attn', 'up', 'com'), expected):
            got = branches[name][key]
            if got.shape[-2:] != size or not torch.allclose(as_tokens(got), want, atol=ATOL):
                bad.append((name, key))
    return bad


def test_restv2_branches_are_the_official_ones():
    model, x = tiny_restv2(), torch.randn(2, 3, H, W, dtype=torch.float64)
    branches = recorded(model, x)
    assert list(branches) == ['stage1.0', 'stage2.0', 'stage3.0', 'stage3.1', 'stage4.0']
    assert mismatches(model, x, branches) == []
    first = branches['stage1.0']
    assert first['attn'].shape == (2, 16, H // 4, W // 4)
    assert first['attn'].abs().mean() > 1e-3 and first['up'].abs().mean() > 1e-3  # both branches live


def test_restv2_branches_equal_the_official_attention_module():
    root = os.environ.get('RESTV2_OFFICIAL_REST')
    if not root:
        pytest.skip('RESTV2_OFFICIAL_REST names no official checkout')
    model, x = tiny_restv2(), torch.randn(1, 3, H, W, dtype=torch.float64)
    assert mismatches(model, x, recorded(model, x),
                      reference=lambda attn, t, size: official_branches(root, attn, t, size)) == []


def test_a_wrong_hook_is_caught():
    model, x = tiny_restv2(), torch.randn(1, 3, H, W, dtype=torch.float64)
    branches = recorded(model, x)
    # The attention branch taken after the sum (the mixer's output before proj, not its half):
    after_sum = {name: dict(b, attn=b['com']) for name, b in branches.items()}
    assert {key for _, key in mismatches(model, x, after_sum)} == {'attn'}
    # The sum read at the wrong linear (q's input: the block's normalised tokens) is refused.
    wrong = BranchRecorder(model, spec=BranchSpec('ResTv2', 'attn', 'up_norm', 'q', 'up', 'tokens'))
    with pytest.raises(RuntimeError, match=r'stage1.0: the input of attn.q is not the sum'):
        recorded(model, x, wrong)


def test_rmt_lce_and_sum():
    torch.manual_seed(0)
    arch = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8], mlp_ratios=[2] * 4,
                init_values=[2] * 4, heads_ranges=[4] * 4, chunkwise_recurrents=[True, True, False, False],
                layerscales=[False] * 4)
    model, x = RMT(arch).double().eval(), torch.randn(1, 3, H, W, dtype=torch.float64)
    retention_io = {}
    for name, module in model.named_modules():
        if name.endswith('.retention'):
            module.register_forward_hook(lambda m, args, kwargs, out, name=name: retention_io.__setitem__(
                name[:-len('.retention')], (args[0], out - kwargs.get('residual', 0))), with_kwargs=True)
    branches = recorded(model, x)
    assert len(branches) == 4 and set(branches) == set(retention_io)
    for name, b in branches.items():
        retention = model.get_submodule(name).retention
        tokens, out = retention_io[name]  # (B, H, W, C) channels-last
        lepe = retention.lepe.conv(retention.v_proj(tokens).permute(0, 3, 1, 2))
        assert torch.allclose(b['lepe'], lepe, atol=ATOL)
        assert torch.allclose(retention.out_proj(b['com'].permute(0, 2, 3, 1)), out, atol=ATOL)
        assert torch.allclose(b['attn'] + b['lepe'], b['com'], atol=ATOL)


def test_families_without_two_branches_are_refused():
    with pytest.raises(ValueError, match="ResTv1's EMSA has a single branch"):
        BranchRecorder(ResTv1('lite'))
    with pytest.raises(ValueError, match="style='global'.*style='win'"):
        BranchRecorder(ResTv2(TINY, style='win'))
    with pytest.raises(ValueError, match='without a .up_norm. module'):
        BranchRecorder(ResTv2(TINY, up_target='none'))
    with pytest.raises(ValueError, match='knows the branches of ResTv2 and RMT'):
        branch_spec(torch.nn.Linear(2, 2))
    assert branch_spec(ResTv2(TINY)) is RESTV2_BRANCHES


def test_take_without_a_forward_names_the_block():
    recorder = BranchRecorder(tiny_restv2())
    with pytest.raises(RuntimeError, match='stage1.0: attn.up_norm was not seen'):
        recorder.take()


class ToyMixer(torch.nn.Module):
    """Attention stand-in (2x) and a local branch added some other way than ``a + b``."""

    def __init__(self):
        super().__init__()
        self.local = torch.nn.Linear(4, 4)
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x, hw_shape):
        return self.proj(torch.stack([2 * x, self.local(x)]).sum(0))


def test_an_unseen_addition_falls_back_to_the_difference_with_a_warning():
    block = torch.nn.Module()
    block.attn = ToyMixer().double()
    backbone = torch.nn.Sequential()
    backbone.add_module('block', block)
    recorder = BranchRecorder(backbone, spec=BranchSpec('Toy', 'attn', 'local', 'proj', 'up', 'tokens'))
    x = torch.randn(2, 6, 4, dtype=torch.float64)
    with recorder, torch.no_grad():
        block.attn(x, (2, 3))
    with pytest.warns(UserWarning, match="block: the addition of the two branches was not seen"):
        (branches, ) = recorder.take()
    assert branches['attn'].shape == (2, 4, 2, 3)
    assert torch.allclose(branches['attn'], 2 * x.transpose(1, 2).reshape(2, 4, 2, 3), atol=1e-12)
