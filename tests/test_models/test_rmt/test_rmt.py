"""RMT backbone: the supplement's and the official code's architecture, figures, decay (the backbone
contract: test_backbone_contract.py)."""
import math
from unittest import mock

import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.analysis import count_params, flop_analyzer
from restv2_mm.models import RMT, RMTClsNeck
from restv2_mm.models.rmt import RetentionRelPos2d
from restv2_mm.ops import fast_path

ARCHS = ['tiny', 'small', 'base', 'large']


class Classifier(nn.Module):
    """Backbone + the official head (Linear C -> 1024, BN, Swish, pool, Linear 1024 -> 1000)."""

    def __init__(self, arch):
        super().__init__()
        self.backbone = RMT(arch, out_indices=(3, ), out_norm_cfg=None)
        self.neck = RMTClsNeck(self.backbone.embed_dims[3])
        self.head = nn.Linear(1024, 1000)

    def forward(self, x):
        return self.head(self.neck(self.backbone(x))[0])


# Parameters: what the official classfication_release/RMT.py builds (RMT_T3, RMT_S, RMT_M2,
# RMT_L6), which supplement Table 1 rounds to 14M, 27M, 54M, 95M.
# FLOPs: fvcore 0.1.5's FlopCountAnalysis (the counter the official main.py uses) on the official
# model at 224, counted outside this project. Table 1 says 2.5G, 4.5G, 9.7G, 18.2G: the official
# code is 6-7 % above it (docs/rmt.md); our tool must agree with fvcore on the code.
@pytest.mark.parametrize('arch,params,paper_m,flops', [
    ('tiny', 14_334_216, 14, 2_650_617_856),
    ('small', 26_967_240, 27, 4_799_505_408),
    pytest.param('base', 54_154_896, 54, 10_414_413_056, marks=pytest.mark.slow),
    pytest.param('large', 95_464_864, 95, 19_545_428_992, marks=pytest.mark.slow)])
def test_params_and_flops_match_official(arch, params, paper_m, flops):
    model = Classifier(arch).eval()
    assert count_params(model) == params
    assert round(params / 1e6) == paper_m
    analyzer = flop_analyzer(model, torch.randn(1, 3, 224, 224))
    assert analyzer.total() == flops
    # Every retention product is counted: matmuls (reference path under tracing) are present.
    assert analyzer.by_operator()['matmul'] > 0


def test_table1_and_table4_architectures():
    """Supplement Table 1 (blocks, channels, heads, ratios) and Table 4 (decay range [a, b])."""
    table1 = {
        'tiny': ([2, 2, 8, 2], [64, 128, 256, 512], [4, 4, 8, 16], [3, 3, 3, 3]),
        'small': ([3, 4, 18, 4], [64, 128, 256, 512], [4, 4, 8, 16], [4, 4, 3, 3]),
        'base': ([4, 8, 25, 8], [80, 160, 320, 512], [5, 5, 10, 16], [4, 4, 3, 3]),
        'large': ([4, 8, 25, 8], [112, 224, 448, 640], [7, 7, 14, 20], [4, 4, 3, 3]),
    }
    table4 = {'tiny': ([2, 2, 2, 2], [6, 6, 8, 8]), 'small': ([2, 2, 2, 2], [6, 6, 8, 8]),
              'base': ([2, 2, 2, 2], [7, 7, 8, 8]), 'large': ([2, 2, 2, 2], [8, 8, 8, 8])}
    for arch, (blocks, dims, heads, ratios) in table1.items():
        s = RMT.parse_arch(arch)
        assert (s['depths'], s['embed_dims'], s['num_heads'], s['mlp_ratios']) == \
            (blocks, dims, heads, ratios)
        a, b = table4[arch]
        assert s['init_values'] == a
        assert [x + r for x, r in zip(s['init_values'], s['heads_ranges'])] == b
    # Official code: decomposed attention in the early stages, whole map in the last ones;
    # layer scale (1e-6) in stages 3 and 4 of RMT-B and RMT-L.
    assert RMT.parse_arch('t')['chunkwise_recurrents'] == [True, True, False, False]
    for arch in ('s', 'b', 'l'):
        assert RMT.parse_arch(arch)['chunkwise_recurrents'] == [True, True, True, False]
    for arch, flags in (('t', [False] * 4), ('s', [False] * 4), ('b', [False, False, True, True]),
                        ('l', [False, False, True, True])):
        assert RMT.parse_arch(arch)['layerscales'] == flags


def test_gamma_follows_eq1():
    """Supplement Eq. 1: gamma_i = 1 - 2 ** (-a - (b - a) * i / N), here RMT-T stage 3 (a=2, b=8,
    N=8) and stage 1 (a=2, b=6, N=4)."""
    model = RMT('tiny')
    for stage, a, b, n in ((2, 2, 8, 8), (0, 2, 6, 4)):
        want = [1 - 2 ** (-a - (b - a) * i / n) for i in range(n)]
        got = model.layers[stage].Relpos.log_gamma().exp().tolist()
        assert got == pytest.approx(want, rel=1e-6)
    # gamma_0 of a = 2 is 0.75; the last head of stage 3 reaches 1 - 2 ** -7.25.
    assert model.layers[2].Relpos.log_gamma().exp()[0].item() == pytest.approx(0.75)
    assert model.layers[2].Relpos.log_gamma().exp()[-1].item() == pytest.approx(1 - 2 ** -7.25)


def test_resolution_change_adjusts_gamma():
    """Supplement C: gamma' = gamma ** (res_ori / res_new), e.g. gamma ** (224 / 384)."""
    base = RMT('small')
    tuned = RMT('small', pretrain_img_size=224, img_size=384)
    for i in range(4):
        g = base.layers[i].Relpos.log_gamma().exp()
        g384 = tuned.layers[i].Relpos.log_gamma().exp()
        assert torch.allclose(g384, g ** (224 / 384), rtol=1e-6)
        # The saved buffer keeps the 224 decay, so checkpoints load and round-trip unchanged.
        assert torch.equal(tuned.layers[i].Relpos.decay, base.layers[i].Relpos.decay)
    # Gamma for one head by hand: a=2, b=6, N=4, head 1 of stage 1.
    gamma = 1 - 2 ** (-2 - 4 * 1 / 4)
    assert tuned.layers[0].Relpos.log_gamma()[1].exp().item() == pytest.approx(
        gamma ** (224 / 384), rel=1e-6)
    mask = tuned.layers[0].Relpos.decay_2d(3, 4)
    # Positions (0, 0) and (2, 3): Manhattan distance 5.
    assert mask[1, 0, 11].item() == pytest.approx(5 * (224 / 384) * math.log(gamma), rel=1e-6)
    # Loading weights keeps the adjustment.
    tuned.load_state_dict(base.state_dict())
    assert tuned.layers[0].Relpos.log_gamma()[1].exp().item() == pytest.approx(
        gamma ** (224 / 384), rel=1e-6)


def test_decay_masks_are_manhattan_distances():
    rel = RetentionRelPos2d(64, 4, 2, 4)
    log_g = [math.log(1 - 2 ** (-2 - 4 * i / 4)) for i in range(4)]
    h, w = 3, 5
    mask = rel.decay_2d(h, w)
    assert mask.shape == (4, 15, 15)
    for p, q in ((0, 14), (7, 3), (6, 6)):
        d = abs(p // w - q // w) + abs(p % w - q % w)
        for head in range(4):
            assert mask[head, p, q].item() == pytest.approx(d * log_g[head], rel=1e-6, abs=1e-7)
    mask_h, mask_w = rel((h, w), decomposed=True)[1]
    assert mask_h.shape == (4, 3, 3) and mask_w.shape == (4, 5, 5)
    assert mask_w[2, 0, 4].item() == pytest.approx(4 * log_g[2], rel=1e-6)
    # Rotary angles grow with the raster index y * W + x (official theta_shift tables).
    sin, cos = rel.rotary(h, w)
    assert sin.shape == (3, 5, 16)
    theta = 1 / 10000 ** (1 / 7)  # second frequency of linspace(0, 1, 8)
    assert sin[1, 2, 2].item() == pytest.approx(math.sin(7 * theta), rel=1e-5)
    assert cos[1, 2, 3].item() == pytest.approx(math.cos(7 * theta), rel=1e-5)


def test_stem_has_the_codes_four_convs():
    """Official PatchEmbed: 3x3 convs with strides 2, 1, 2, 1 (supplement A says five)."""
    stem = RMT('tiny').patch_embed.proj
    convs = [m for m in stem if isinstance(m, nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [2, 1, 2, 1]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in stem) == 4
    assert sum(isinstance(m, nn.GELU) for m in stem) == 3
    assert isinstance(stem[-1], nn.BatchNorm2d)


def test_module_names_follow_official_release():
    names = set(RMT('base').state_dict())
    for key in ['patch_embed.proj.0.weight', 'patch_embed.proj.10.running_var',
                'layers.0.Relpos.angle', 'layers.0.Relpos.decay',
                'layers.0.blocks.0.pos.conv.weight', 'layers.0.blocks.0.retention_layer_norm.weight',
                'layers.0.blocks.0.retention.q_proj.weight', 'layers.0.blocks.0.retention.k_proj.bias',
                'layers.0.blocks.0.retention.v_proj.weight', 'layers.0.blocks.0.retention.lepe.conv.weight',
                'layers.0.blocks.0.retention.out_proj.bias', 'layers.0.blocks.0.final_layer_norm.bias',
                'layers.0.blocks.0.ffn.fc1.weight', 'layers.0.blocks.0.ffn.dwconv.conv.weight',
                'layers.0.blocks.0.ffn.fc2.bias', 'layers.2.blocks.24.gamma_1', 'layers.3.blocks.7.gamma_2',
                'layers.0.downsample.reduction.weight', 'layers.2.downsample.norm.running_mean',
                'norm0.weight', 'norm3.bias']:
        assert key in names, key
    assert not any(k.startswith('layers.3.downsample') for k in names)
    assert not any(k.startswith('layers.1.blocks.0.gamma') for k in names)
    model = RMT('base')
    assert model.layers[2].blocks[0].gamma_1.flatten().unique().tolist() == [pytest.approx(1e-6)]
    assert model.layers[0].blocks[0].retention.lepe.conv.kernel_size == (5, 5)
    assert model.layers[0].blocks[0].pos.conv.kernel_size == (3, 3)


@pytest.mark.parametrize('out_indices', [(0, ), (3, ), (1, 2), (-1, )])
def test_out_indices_and_output_norms(out_indices):
    model = RMT('tiny', out_indices=out_indices).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    want = sorted(i % 4 for i in out_indices)
    assert [o.shape[1] for o in outs] == [[64, 128, 256, 512][i] for i in want]
    norms = sorted(n for n, _ in model.named_children() if n.startswith('norm'))
    assert norms == [f'norm{i}' for i in want]
    # Official detection/segmentation extra_norms are nn.LayerNorm(C): eps 1e-5.
    assert all(getattr(model, n).eps == 1e-5 for n in norms)
    for out in outs:
        assert torch.allclose(out.mean(1), torch.zeros(()), atol=1e-4)
    bare = RMT('tiny', out_indices=out_indices, out_norm_cfg=None)
    assert not any(n.startswith('norm') for n, _ in bare.named_children())


def test_syncbn_through_conv_norm_cfg():
    model = RMT('tiny', conv_norm_cfg=dict(type='SyncBN'))
    assert sum(isinstance(m, nn.SyncBatchNorm) for m in model.modules()) == 7
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in RMT('tiny').modules())


def test_drop_path_rates_are_linear_over_blocks():
    model = RMT('tiny', drop_path_rate=0.1)
    rates = [blk.drop_path.drop_prob if hasattr(blk.drop_path, 'drop_prob') else 0.
             for layer in model.layers for blk in layer.blocks]
    assert len(rates) == 14
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.1)
    assert rates == pytest.approx([0.1 * i / 13 for i in range(14)])


def test_fused_attention_equals_reference():
    """On the fast path every retention is fused SDPA calls (per decomposed block one for the rows
    and, in inference, one for the columns of all images; one per whole-map block) and gives the
    reference's outputs (the official explicit matmuls, fast path off)."""
    import torch.nn.functional as F

    from restv2_mm.ops.kernels import attention
    from restv2_mm.utils.torch_compat import cpu_sdpa_takes_float_mask
    if not cpu_sdpa_takes_float_mask():
        pytest.skip('this torch has no CPU flash attention with a float mask')
    model = RMT('tiny').eval()
    x = torch.randn(2, 3, 70, 45)
    with torch.no_grad():
        with fast_path(False), mock.patch.object(attention.F, 'scaled_dot_product_attention',
                                                 side_effect=AssertionError('SDPA called')):
            ref = model(x)
        with fast_path(True), mock.patch.object(attention.F, 'scaled_dot_product_attention',
                                                wraps=F.scaled_dot_product_attention) as sdpa:
            fast = model(x)
    # stages 1-2 decomposed: rows, then columns (batched: no autograd); stages 3-4 whole map
    assert sdpa.call_count == (2 + 2) * (1 + 1) + 8 + 2
    for a, b in zip(fast, ref):
        assert torch.allclose(a, b, atol=1e-5)


def test_official_checkpoints_load(tmp_path):
    """Classification (proj/norm/head dropped) and detection (extra_norms -> norm{i}) layouts,
    under 'model', 'state_dict' or plain, with DataParallel's 'module.' prefix."""
    src = RMT('tiny').eval()
    state = src.state_dict()
    det = {(f'extra_norms.{k[4]}.{k[6:]}' if k.startswith('norm') else k): v for k, v in state.items()}
    cls = {k: v for k, v in state.items() if not k.startswith('norm')}
    cls.update({'proj.weight': torch.zeros(1024, 512), 'proj.bias': torch.zeros(1024),
                'norm.weight': torch.ones(1024), 'norm.bias': torch.zeros(1024),
                'head.weight': torch.zeros(1000, 1024), 'head.bias': torch.zeros(1000)})
    x = torch.randn(1, 3, 64, 64)
    want = src(x)
    for name, ckpt in (('det_state_dict', {'state_dict': {'module.' + k: v for k, v in det.items()}}),
                       ('det_plain', det), ('cls_model', {'model': cls})):
        path = tmp_path / f'{name}.pth'
        torch.save(ckpt, path)
        model = RMT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
        model.init_weights()
        model.eval()  # the classifier has no output norms: they stay at init, as in src
        for a, b in zip(model(x), want):
            assert torch.equal(a, b), name


@pytest.mark.mmcv_ops  # mmdet's and mmseg's registries import their models to build
def test_registered_in_every_library():
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as CLS
    from mmseg.registry import MODELS as SEG
    for registry in (DET, SEG, CLS):
        assert isinstance(registry.build(dict(type='RMT', arch='t', out_indices=(3, ))), RMT)
    assert isinstance(CLS.build(dict(type='RMTClsNeck', in_channels=512)), RMTClsNeck)


def test_layer_depth_for_lr_decay():
    model = RMT('tiny')
    assert model.get_layer_depth('backbone.patch_embed.proj.0.weight', 'backbone.') == (0, 6)
    assert model.get_layer_depth('backbone.layers.0.blocks.1.ffn.fc1.weight', 'backbone.') == (1, 6)
    # The patch merging at the end of layer 0 leads into stage 2.
    assert model.get_layer_depth('backbone.layers.0.downsample.reduction.weight', 'backbone.') == (2, 6)
    assert model.get_layer_depth('backbone.norm2.weight', 'backbone.') == (3, 6)
    assert model.get_layer_depth('neck.lateral_convs.0.conv.weight', 'backbone.') == (5, 6)
    # layer-wise: 14 blocks; stage 3's third block is block 2 + 2 + 3 = 7.
    assert model.get_layer_depth('backbone.layers.2.blocks.2.pos.conv.weight', 'backbone.',
                                 'layer_wise') == (7, 16)


def test_init_official():
    model = RMT('tiny')
    model.init_weights()
    q = model.layers[0].blocks[0].retention.q_proj
    assert q.bias.abs().max() == 0 and 0.015 < q.weight.std() < 0.025


@pytest.mark.parametrize('kwargs,exc,words', [
    (dict(arch=dict(embed_dims=[64] * 4, depths=[1] * 4, num_heads=[2] * 4)), ValueError,
     ['arch dict is missing keys', 'mlp_ratios', 'chunkwise_recurrents']),  # B41
    (dict(arch=dict(RMT.arch_zoo['t'], mlp_ratios=[3, 3, 0, 3])), ValueError,
     ["arch['mlp_ratios']", 'numbers > 0']),  # B42
    (dict(arch=dict(RMT.arch_zoo['t'], init_values=[2, 2, -1, 2])), ValueError,
     ["arch['init_values']"]),  # B42
    (dict(arch=dict(RMT.arch_zoo['t'], heads_ranges=[4, 4, 6])), ValueError,
     ["arch['heads_ranges']", '4 numbers >= 0']),  # B42
    (dict(arch=dict(RMT.arch_zoo['t'], chunkwise_recurrents=[1, 1, 0, 0])), ValueError,
     ["arch['chunkwise_recurrents']", '4 bools']),  # B42
    (dict(arch=dict(RMT.arch_zoo['t'], layer_init_values=0)), ValueError,
     ["arch['layer_init_values']"]),  # B42
    (dict(arch=dict(RMT.arch_zoo['t'], num_heads=[64, 4, 8, 16])), ValueError,
     ['even number of channels per head', 'rotary']),  # B43
    (dict(pretrain_img_size=0), ValueError, ['pretrain_img_size', 'positive']),  # B44
    (dict(img_size='384'), ValueError, ['img_size', "'384'"]),  # B44
    (dict(norm_cfg=dict(type='BN')), ValueError, ['norm_cfg', 'conv_norm_cfg']),  # B45
    (dict(out_norm_cfg=dict(type='SyncBN')), ValueError, ['out_norm_cfg=', 'SyncBN', 'LayerNorms']),  # B45
    (dict(arch='huge'), ValueError, ['arch', "'huge'", 'tiny']),  # B40
    (dict(out_indices=(4, )), ValueError, ['out_indices', '0..3']),  # B40
    (dict(frozen_stages=5), ValueError, ['frozen_stages', '5']),  # B40
    (dict(drop_path_rate=1.), ValueError, ['drop_path_rate']),  # B40
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        RMT(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))

