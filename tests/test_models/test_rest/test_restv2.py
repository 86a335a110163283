"""ResTv2 backbone: shapes, the paper's parameter counts and FLOPs, output norms, registries (the backbone
contract: test_backbone_contract.py)."""
import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.analysis import count_params, flop_analyzer
from restv2_mm.models import ResTv2

ARCHS = ['tiny', 'small', 'base', 'large']


class Classifier(nn.Module):
    """Backbone + global average pooling + Linear(C, 1000): the model of the paper's Table 1."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = ResTv2(arch, out_indices=(3, ))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(self.backbone.embed_dims[3], 1000)

    def forward(self, x):
        return self.head(self.pool(self.backbone(x)[-1]).flatten(1))


# Paper Table 1 / appendix D (30M/4.1G, 41M/6.0G, 56M/7.9G, 87M/13.8G), with the exact figures
# that mmengine's FlopAnalyzer gives when SDPA is counted as QK^T + AV.
@pytest.mark.parametrize('arch,params_m,gflops', [
    ('tiny', 30.43, 4.106), ('small', 41.21, 5.983), ('base', 55.97, 7.898),
    ('large', 86.53, 13.856)])
def test_params_and_flops_match_paper(arch, params_m, gflops):
    model = Classifier(arch).eval()
    assert round(count_params(model) / 1e6, 2) == params_m
    flops = flop_analyzer(model, torch.randn(1, 3, 224, 224)).total()
    assert round(flops / 1e9, 3) == gflops


@pytest.mark.parametrize('arch', ARCHS)
def test_output_shapes_strides_channels(arch):
    model = ResTv2(arch).eval()
    dims = ResTv2.arch_zoo[arch]['embed_dims']
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [
        (2, dims[i], 64 // 4 // 2**i, 96 // 4 // 2**i) for i in range(4)]


@pytest.mark.parametrize('out_indices', [(0, ), (3, ), (1, 2), (0, 1, 2, 3), (-1, )])
def test_out_indices(out_indices):
    model = ResTv2('tiny', out_indices=out_indices).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    want = sorted(i % 4 for i in out_indices)
    assert [o.shape[1] for o in outs] == [[96, 192, 384, 768][i] for i in want]
    # One output norm per requested stage, named as in the issue (norm0..norm3).
    assert sorted(n for n, _ in model.named_children() if n.startswith('norm')) == \
        [f'norm{i}' for i in want]


def test_outputs_are_layer_normed_over_channels():
    model = ResTv2('tiny', out_indices=(0, 1, 2, 3)).eval()
    for out in model(torch.randn(1, 3, 64, 64)):
        mean = out.mean(1)
        var = out.var(1, unbiased=False)
        assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-4)
        assert torch.allclose(var, torch.ones_like(var), atol=1e-2)


def test_module_names_follow_official_release():
    names = set(ResTv2('tiny').state_dict())
    for key in ['stem.proj.0.weight', 'stem.proj.1.running_mean', 'stem.proj.3.weight',
                'stem.proj.4.weight', 'stem.proj.6.bias', 'stem.pos.pa_conv.weight',
                'stem.norm.weight', 'patch_2.proj.weight', 'patch_4.pos.pa_conv.bias',
                'patch_3.norm.bias', 'stage1.0.norm1.weight', 'stage1.0.attn.q.weight',
                'stage1.0.attn.kv.weight', 'stage1.0.attn.sr.weight', 'stage1.0.attn.sr_norm.weight',
                'stage1.0.attn.up.0.weight', 'stage1.0.attn.up_norm.weight',
                'stage1.0.attn.proj.weight', 'stage3.5.norm2.bias', 'stage4.1.mlp.fc1.weight',
                'stage4.1.mlp.fc2.bias']:
        assert key in names, key
    assert not any(k.startswith('stage4.0.attn.sr') for k in names)  # r = 1: no reduction
    # kernel r+1, stride r, padding r//2 (depth-wise); up: C -> r*r*C depth-wise 3x3
    sr = ResTv2('tiny').stage1[0].attn.sr
    assert (sr.kernel_size, sr.stride, sr.padding, sr.groups) == ((9, 9), (8, 8), (4, 4), 96)
    assert ResTv2('tiny').stage2[0].attn.up[0].weight.shape == (192 * 16, 1, 3, 3)


@pytest.mark.mmcv_ops  # mmdet's and mmseg's registries import their models to build
def test_registered_in_every_library():
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as CLS
    from mmseg.registry import MODELS as SEG
    for registry in (DET, SEG, CLS):
        model = registry.build(dict(type='ResTv2', arch='t', out_indices=(3, )))
        assert isinstance(model, ResTv2)


def test_attention_equals_eager_reference():
    """The SDPA path equals the official eager computation (explicit softmax(QK^T/sqrt(d)) V)."""
    attn = ResTv2('tiny').stage1[0].attn.eval()
    x = torch.randn(2, 16 * 24, 96)
    h, w = 16, 24
    n, length, c = x.shape
    q = attn.q(x).reshape(n, length, 1, c).permute(0, 2, 1, 3)
    xr = attn.sr(x.permute(0, 2, 1).reshape(n, c, h, w)).reshape(n, c, -1).permute(0, 2, 1)
    kv = attn.kv(attn.sr_norm(xr)).reshape(n, -1, 2, 1, c).permute(2, 0, 3, 1, 4)
    k, v = kv[0], kv[1]
    a = ((q @ k.transpose(-2, -1)) * c ** -0.5).softmax(-1)
    out = (a @ v).transpose(1, 2).reshape(n, length, c)
    ident = attn.up(v.transpose(-1, -2).reshape(n, c, h // 8, w // 8)).flatten(2).transpose(1, 2)
    ref = attn.proj(out + attn.up_norm(ident))
    assert torch.allclose(attn(x, (h, w)), ref, atol=1e-5)
