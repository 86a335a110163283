"""ResTv1 (github.com/wofmanaf/ResT models/rest.py): official names, checkpoints and outputs."""
import importlib.util
import math
import os
import os.path as osp
import sys
import types
from collections import OrderedDict

import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.analysis import count_params, flop_analyzer
from restv2_mm.models import ResTv1

# A checkout of github.com/wofmanaf/ResT; the official code is not part of this repository.
OFFICIAL_ENV = 'RESTV2_OFFICIAL_REST'
# Also run as a script (regenerating the golden file), where tests/helpers.py is not importable.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
GOLDEN = osp.join(REPO, 'tests', 'data', 'restv1_lite_official_outputs.pt')
# 224, and an odd size the official code accepts: its patch embeddings report H // 2, so every
# stage map but the last must be even (221 -> 56, 28, 14, 7; 189 -> 48, 24, 12, 6).
SIZES = [(224, 224), (221, 189)]
WEIGHT_SEED, INPUT_SEED = 0, 1
# The golden logits are the official code's in float64, and ours are compared in float64: float32
# results of a deep network differ between CPUs' kernels (AVX2 vs AVX-512 oneDNN/MKL paths) by
# ~1e-5 relative, float64 ones by ~1e-13, so F64_ATOL holds on any CPU and still catches one weight
# off by 1e-3 (test_a_perturbed_weight_fails_the_golden_comparison). Logits are O(3).
F64_ATOL = 1e-6
# Our float32 model (reference and fast path) against the float64 truth: the largest difference
# measured over CPU kernel paths (AVX2; and ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41)
# is 3.7e-5 (MHIM's InstanceNorm over nearly flat attention rows amplifies float32 rounding); the
# tolerance leaves a 5x margin for other CPUs. Measured float64 differences: <= 2e-13.
F32_ATOL = 2e-4


class Classifier(nn.Module):
    """The official classifier on our backbone: final LayerNorm (``norm3``), GAP, ``head``."""

    def __init__(self, arch, **kwargs):
        super().__init__()
        self.backbone = ResTv1(arch, out_indices=(3, ), **kwargs)
        self.head = nn.Linear(self.backbone.embed_dims[3], 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1].mean((2, 3)))


def official_shapes(model: Classifier) -> 'OrderedDict[str, torch.Size]':
    """The official state dict's keys and shapes, from ours: ``norm3`` is ``norm``, plus ``head``."""
    shapes = OrderedDict()
    for k, v in model.backbone.state_dict().items():
        shapes['norm.' + k[len('norm3.'):] if k.startswith('norm3.') else k] = v.shape
    for k, v in model.head.state_dict().items():
        shapes['head.' + k] = v.shape
    return shapes


def deterministic_state(shapes) -> 'OrderedDict[str, torch.Tensor]':
    """Every tensor drawn from one seeded generator in sorted key order (BatchNorm statistics
    too), scaled so that activations stay O(1): weights N(0, 1/fan_in), norm weights 1 + N(0,
    0.1^2), running variances U(0.5, 1.5), other vectors N(0, 0.1^2). Drawn in float64: float32
    ``randn`` differs in the last bit between CPU kernels (AVX2 vs others), float64 does not, and
    both models round the same float64 values to their float32 parameters."""
    g = torch.Generator().manual_seed(WEIGHT_SEED)
    f64 = dict(generator=g, dtype=torch.float64)
    state = OrderedDict()
    for key in sorted(shapes):
        shape = shapes[key]
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(0)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, **f64) + 0.5
        elif len(shape) > 1:
            state[key] = torch.randn(shape, **f64) / math.sqrt(math.prod(shape[1:]))
        elif 'norm' in key.split('.')[-2] and key.endswith('weight'):
            state[key] = 1 + 0.1 * torch.randn(shape, **f64)
        else:
            state[key] = 0.1 * torch.randn(shape, **f64)
    return state


def inputs(size):
    """(2, 3, H, W) float64 (see :func:`deterministic_state` for why float64)."""
    return torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(INPUT_SEED),
                       dtype=torch.float64)


def ours_lite(state) -> Classifier:
    model = Classifier('lite').eval()
    model.backbone.load_state_dict(ResTv1.convert_state_dict(
        {k: v for k, v in state.items() if not k.startswith('head.')}), strict=True)
    model.head.load_state_dict({k[len('head.'):]: v for k, v in state.items()
                                if k.startswith('head.')})
    return model


def import_official_rest(root: str):
    """models/rest.py of an official checkout, with a stand-in for the three timm names it
    imports (DropPath, to_2tuple, trunc_normal_; register_model) so that timm is not needed."""
    layers = types.ModuleType('timm.models.layers')

    class DropPath(nn.Identity):  # inference only: drop_path_rate is 0
        def __init__(self, *args, **kwargs):
            super().__init__()

    layers.DropPath = DropPath
    layers.to_2tuple = lambda x: tuple(x) if isinstance(x, (tuple, list)) else (x, x)
    layers.trunc_normal_ = lambda t, std=1.: nn.init.trunc_normal_(t, std=std)
    registry = types.ModuleType('timm.models.registry')
    registry.register_model = lambda fn: fn
    shim = {'timm': types.ModuleType('timm'), 'timm.models': types.ModuleType('timm.models'),
            'timm.models.layers': layers, 'timm.models.registry': registry}
    saved = {k: sys.modules.get(k) for k in shim}
    sys.modules.update(shim)
    try:
        spec = importlib.util.spec_from_file_location('official_rest',
                                                      osp.join(root, 'models', 'rest.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return module


def official_outputs(root: str) -> dict:
    """The official ResTv1-Lite's logits on the deterministic weights and inputs, in float64."""
    official = import_official_rest(root).rest_lite().eval()
    shapes = OrderedDict((k, v.shape) for k, v in official.state_dict().items())
    official.load_state_dict(deterministic_state(shapes), strict=True)
    official.double()
    with torch.no_grad():
        return {size: official(inputs(size).double()) for size in SIZES}


# ----------------------------------------------------------------------------- the release
# The official code builds these exactly (models/rest.py; the README rounds them to 11M, 14M, 30M,
# 52M). FLOPs are our counter's (multiply-adds, attention matmuls counted). The README's 1.4G, 1.9G,
# 4.3G, 7.9G are not the released models': they are rest.py's unused 7x7 `Stem` model counted
# without the attention matmuls (1.401, 1.943, 4.270, 7.920 G); see docs/ablations.md.
RELEASE = [('lite', 10_508_300, 11, 1.5440), ('small', 13_679_708, 14, 2.1071),
           ('base', 30_327_052, 30, 4.6457), ('large', 51_676_156, 52, 8.3917)]


@pytest.mark.parametrize('arch,params,readme_m,gflops', RELEASE)
def test_params_and_flops_of_the_release(arch, params, readme_m, gflops):
    model = Classifier(arch).eval()
    assert count_params(model) == params
    assert round(params / 1e6) == readme_m
    flops = flop_analyzer(model, torch.randn(1, 3, 224, 224)).total()
    assert round(flops / 1e9, 4) == gflops


def test_restv1_lite_with_the_upsampling_branch():
    """Appendix A's ResTv1-EMSAv2-Lite† read literally (the release's BatchNorm stem); the paper's
    figures (10.66M, 1.45G) are ResTv2('lite', mhim=True)'s, see test_ablation_figures.py."""
    model = Classifier('lite', up_target='v')
    assert count_params(model) - count_params(Classifier('lite')) == 157_440  # up.0, up_norm
    assert count_params(model) == 10_665_740


def test_official_module_names():
    keys = set(official_shapes(Classifier('lite')))
    for key in ['stem.conv1.weight', 'stem.norm1.running_var', 'stem.conv2.weight',
                'stem.norm2.bias', 'stem.conv3.weight', 'stem.pos.pa_conv.weight',
                'patch_embed_2.conv.bias', 'patch_embed_3.norm.running_mean',
                'patch_embed_4.pos.pa_conv.bias', 'stage1.0.norm1.weight', 'stage1.0.attn.q.bias',
                'stage1.1.attn.kv.weight', 'stage1.0.attn.sr.weight', 'stage1.0.attn.sr_norm.bias',
                'stage2.0.attn.transform_conv.weight', 'stage3.1.attn.transform_conv.bias',
                'stage4.1.attn.proj.weight', 'stage4.1.mlp.fc2.bias', 'stage2.1.norm2.weight',
                'norm.weight', 'head.bias']:
        assert key in keys, key
    # MHIM where a stage has more than one head (stage 1 has one); no upsampling, no stem LN.
    assert not any(k.startswith('stage1.0.attn.transform') or '.up' in k or 'stem.norm.' in k
                   for k in keys)
    assert not any(k.startswith('stage4.0.attn.sr') for k in keys)  # r = 1
    assert len(keys) == 179 + 3 * 5  # as official rest_lite: 179 parameters, 5 BatchNorms' buffers


def test_official_checkpoint_loads_unchanged(tmp_path):
    state = deterministic_state(official_shapes(Classifier('lite')))
    path = tmp_path / 'rest_lite.pth'
    torch.save({'model': state, 'epoch': 299}, path)
    model = ResTv1('lite', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    own = model.state_dict()
    converted = ResTv1.convert_state_dict(state)
    assert sorted(set(converted) - set(own)) == ['head.bias', 'head.weight']  # documented extras
    for k, v in converted.items():
        assert k.startswith('head.') or torch.equal(own[k], v.float()), k
    assert sorted(set(own) - set(converted)) == sorted(
        f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias'))


def max_diffs(ours: Classifier, expected: dict, dtype: torch.dtype) -> dict:
    """Largest |ours - expected| over SIZES, with ``ours`` run in ``dtype``, per fast path."""
    from restv2_mm.ops import fast_path
    ours = ours.to(dtype)
    diffs = {}
    with torch.no_grad():
        for fast in (False, True):
            with fast_path(fast):
                diffs[fast] = max((ours(inputs(size).to(dtype)) - expected[size]).abs().max().item()
                                  for size in SIZES)
    return diffs


def compare(ours: Classifier, expected: dict):
    """Ours equals ``expected`` (float64 logits): at F64_ATOL in float64, at F32_ATOL in float32,
    with the fast path on and off."""
    for dtype, atol in ((torch.float64, F64_ATOL), (torch.float32, F32_ATOL)):
        for fast, diff in max_diffs(ours, expected, dtype).items():
            assert diff < atol, (dtype, 'fast path' if fast else 'reference path', diff)


def load_golden() -> dict:
    golden = torch.load(GOLDEN, weights_only=True)
    assert [tuple(s) for s in golden['sizes']] == SIZES
    assert (golden['weight_seed'], golden['input_seed']) == (WEIGHT_SEED, INPUT_SEED)
    assert all(out.dtype == torch.float64 for out in golden['outputs'])
    for size, s in zip(SIZES, golden['input_sums']):
        assert inputs(size).sum().item() == pytest.approx(s, abs=1e-3)  # same generator stream
    return dict(zip(SIZES, golden['outputs']))


def test_outputs_equal_the_official_golden_outputs():
    """CI: ResTv1-Lite's logits on deterministic weights equal those the official code computed
    in float64 (tests/data/restv1_lite_official_outputs.pt, written by this file's __main__)."""
    compare(ours_lite(deterministic_state(official_shapes(Classifier('lite')))), load_golden())


def test_a_perturbed_weight_fails_the_golden_comparison():
    """The float64 tolerance catches one weight of one block off by 1e-3."""
    state = deterministic_state(official_shapes(Classifier('lite')))
    state['stage3.1.attn.q.weight'][0, 0] += 1e-3
    diffs = max_diffs(ours_lite(state), load_golden(), torch.float64)
    assert min(diffs.values()) > 10 * F64_ATOL, diffs


@pytest.mark.skipif(not os.environ.get(OFFICIAL_ENV),
                    reason=f'set {OFFICIAL_ENV} to a checkout of github.com/wofmanaf/ResT')
def test_outputs_equal_the_official_code():
    root = os.environ[OFFICIAL_ENV]
    official = import_official_rest(root).rest_lite()
    assert set(official.state_dict()) == set(official_shapes(Classifier('lite')))
    expected = official_outputs(root)
    compare(ours_lite(deterministic_state(official_shapes(Classifier('lite')))), expected)
    for size, out in load_golden().items():
        assert torch.allclose(expected[size], out, rtol=0, atol=F64_ATOL), size


@pytest.mark.mmcv_ops  # mmdet's and mmseg's registries import their models to build
def test_registered_and_layer_depths():
    from mmdet.registry import MODELS as DET
    from mmpretrain.registry import MODELS as CLS
    from mmseg.registry import MODELS as SEG
    for registry in (DET, SEG, CLS):
        assert isinstance(registry.build(dict(type='ResTv1', arch='s', out_indices=(3, ))), ResTv1)
    model = ResTv1('small', frozen_stages=2)
    assert model.get_layer_depth('backbone.patch_embed_3.norm.weight', 'backbone.') == (3, 6)
    assert model.get_layer_depth('backbone.stage3.5.attn.q.weight', 'backbone.',
                                 'layer_wise') == (10, 14)
    assert not any(p.requires_grad for p in model.patch_embed_2.parameters())
    assert all(p.requires_grad for p in model.patch_embed_3.parameters())


if __name__ == '__main__':
    # RESTV2_OFFICIAL_REST=CHECKOUT python tests/test_models/test_rest/test_restv1.py [COMMIT]: (re)write the
    # golden outputs from the official code.
    root = os.environ[OFFICIAL_ENV]
    outputs = official_outputs(root)
    commit = sys.argv[1] if len(sys.argv) > 1 else 'unknown commit'
    torch.save(dict(source=f'github.com/wofmanaf/ResT@{commit} models/rest.py rest_lite', sizes=SIZES,
                    weight_seed=WEIGHT_SEED, input_seed=INPUT_SEED,
                    input_sums=[inputs(s).sum().item() for s in SIZES],
                    outputs=[outputs[s] for s in SIZES]), GOLDEN)
    print(f'wrote {GOLDEN}')
