"""RMT-T against the official code (github.com/qhfan/RMT), with deterministic weights.

Two tests share one procedure: every floating tensor of the official state dict (except the
``Relpos`` tables, which both sides compute) is filled from a seeded ``torch.Generator`` in sorted
key order, BatchNorm running statistics included; the same values go into our model under our
names; both run in eval mode on the same seeded input at 224x224 and at 225x193 (odd, not a
multiple of 32: the official code accepts any size, its convolutions pad and its decay and rotary
tables are built for the actual map).

- :func:`test_matches_official_code` imports the official classification model
  (``classfication_release/RMT.py``) and detection backbone (``detect/mmdet/models/backbones/
  RMT.py``) from a checkout named by ``$RESTV2_OFFICIAL_RMT`` (skipped without it), with stand-ins
  for timm, einops, fvcore and the mmdet 2.x imports, and compares whole outputs.
- :func:`test_matches_official_golden_outputs` runs in CI, where the official code is absent: it
  compares our outputs with ``tests/data/rmt_t_official_outputs.pt``, written by running this file
  (``RESTV2_OFFICIAL_RMT=/path/to/RMT python tests/test_models/test_rmt/test_rmt_official.py``; for a
  ``git archive`` export, ``$RESTV2_OFFICIAL_RMT_COMMIT`` names the commit): strided
  samples of every official output, per-channel means and float64 sums.

Outputs compared: the four stage features of the classifier (the last block of each stage, before
the patch merging), its logits (our ``RMT`` + ``RMTClsNeck`` + Linear), and the detection
backbone's four normalised outputs (``extra_norms``, our ``norm{i}``).
"""
import os
import os.path as osp
import sys

import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from official_rmt import load_official_file
from restv2_mm.models import RMT, RMTClsNeck
from restv2_mm.ops import fast_path

OFFICIAL_ENV = 'RESTV2_OFFICIAL_RMT'
GOLDEN = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
                  'rmt_t_official_outputs.pt')
SIZES = ((224, 224), (225, 193))
BATCH = 2
WEIGHT_SEED, INPUT_SEED = 0, 1
WEIGHT_GAIN = 0.5  # keeps the features O(1..30), where float32 noise is far below 1e-5
SAMPLES = 512  # strided samples kept per output in the golden file
# The official detection RMT-T (detect/configs/RMT/maskrcnn_t_1x.py) is our arch 'tiny' (the
# classifier, RMT_T3, is built by its own function: a wrong arch table fails the comparison).
OFFICIAL_T = dict(RMT.arch_zoo['tiny'], drop_path_rate=0.1)
# Golden outputs are the official code's in float64, and ours are compared in float64: float32
# results differ between CPUs' kernels (AVX2 vs AVX-512 oneDNN/MKL paths) by ~1e-5 relative, float64
# ones by ~1e-13, so these hold on any CPU and still catch one weight off by 1e-3
# (test_a_perturbed_weight_fails_the_golden_comparison).
F64_ATOL, F64_RTOL = 1e-6, 1e-7
# Our float32 model against the float64 truth, relative to each output's largest magnitude: the
# largest measured over CPU kernel paths (AVX2; and ATEN_CPU_CAPABILITY=default
# ONEDNN_MAX_CPU_ISA=SSE41) is 9.3e-7; the tolerance leaves a 5x margin for other CPUs. Measured
# float64 differences: <= 1e-9 (the decay tables are float32 on both sides).
F32_SCALED_TOL = 5e-6


# --------------------------------------------------------------------------- deterministic weights
def fill_deterministic(state: dict) -> dict:
    """Values for every floating tensor of an official-named state dict, drawn in sorted key order
    from one generator: weights N(0, 1) * gain / sqrt(fan_in), norm scales 1 + N(0, 0.1), biases
    N(0, 0.1), running means N(0, 0.1), running variances U(0.5, 1.5). The ``Relpos`` decay and
    angle tables are left to the models."""
    g = torch.Generator().manual_seed(WEIGHT_SEED)
    f64 = dict(generator=g, dtype=torch.float64)  # float32 randn differs in the last bit by CPU
    out = {}
    for key in sorted(state):
        value = state[key]
        if '.Relpos.' in key or not value.is_floating_point():
            continue
        shape = value.shape
        if key.endswith('running_var'):
            out[key] = torch.rand(shape, **f64) + 0.5
        elif key.endswith('running_mean'):
            out[key] = 0.1 * torch.randn(shape, **f64)
        elif value.dim() >= 2:
            out[key] = torch.randn(shape, **f64) * WEIGHT_GAIN * (value.numel() / shape[0]) ** -0.5
        elif key.endswith('weight'):
            out[key] = 1 + 0.1 * torch.randn(shape, **f64)
        else:
            out[key] = 0.1 * torch.randn(shape, **f64)
    return out


def make_input(hw):
    """(BATCH, 3, H, W) float64: float32 ``randn`` differs in the last bit between CPU kernels."""
    return torch.randn(BATCH, 3, *hw, generator=torch.Generator().manual_seed(INPUT_SEED),
                       dtype=torch.float64)


# --------------------------------------------------------------------------- our models
class OurClassifier(nn.Module):
    """RMT-T without output norms + the official head (RMTClsNeck + Linear)."""

    def __init__(self):
        super().__init__()
        self.backbone = RMT('tiny', out_norm_cfg=None)
        self.neck = RMTClsNeck(512)
        self.head = nn.Linear(1024, 1000)

    def forward(self, x):
        feats = self.backbone(x)
        return feats, self.head(self.neck(feats)[0])


def _cls_to_official(key):
    for ours, official in (('backbone.', ''), ('neck.', ''), ('head.', 'head.')):
        if key.startswith(ours):
            return official + key[len(ours):]
    raise KeyError(key)


def _det_to_official(key):
    if key.startswith('norm'):
        index, rest = key[4:].split('.', 1)
        return f'extra_norms.{index}.{rest}'
    return key


def our_models():
    """(classifier, detection backbone) with the deterministic weights, in eval mode, and the
    official key sets they stand for."""
    cls, det = OurClassifier().eval(), RMT('tiny').eval()
    keys = {}
    for name, model, to_official in (('cls', cls, _cls_to_official), ('det', det, _det_to_official)):
        mapping = {_to: k for k, _to in ((k, to_official(k)) for k in model.state_dict())}
        shapes = {official: model.state_dict()[ours] for official, ours in mapping.items()}
        values = fill_deterministic(shapes)
        missing = model.load_state_dict({mapping[k]: v for k, v in values.items()}, strict=False)
        assert not missing.unexpected_keys
        assert all('.Relpos.' in k or 'num_batches_tracked' in k for k in missing.missing_keys)
        keys[name] = {k: tuple(v.shape) for k, v in shapes.items()}
    return cls, det, keys


def our_outputs(dtype=torch.float64, perturb=None, sizes=SIZES):
    """Our classifier's stage features and logits and the detection backbone's outputs, run in
    ``dtype`` at ``sizes``; ``perturb`` (key, delta) changes one element of one of the
    classifier's weights."""
    cls, det, _ = our_models()
    if perturb is not None:
        key, delta = perturb
        cls.state_dict()[key].view(-1)[0] += delta
    cls, det = cls.to(dtype), det.to(dtype)
    out = {}
    with torch.no_grad():
        for hw in sizes:
            x = make_input(hw).to(dtype)
            feats, logits = cls(x)
            out[hw] = dict(stages=list(feats), logits=logits, det=list(det(x)))
    return out


# --------------------------------------------------------------------------- the official code
def official_models(root: str):
    """The official RMT-T classifier and detection backbone with the deterministic weights, in
    float64."""
    from mmengine.model import revert_sync_batchnorm
    cls = load_official_file(osp.join(root, 'classfication_release', 'RMT.py'))['RMT_T3'](None)
    det = load_official_file(osp.join(root, 'detect', 'mmdet', 'models', 'backbones', 'RMT.py'))['RMT'](
        out_indices=(0, 1, 2, 3), **OFFICIAL_T)
    det = revert_sync_batchnorm(det)  # its SyncBatchNorm, in eval mode, is a BatchNorm
    keys = {}
    for name, model in (('cls', cls), ('det', det)):
        state = model.state_dict()
        result = model.load_state_dict(fill_deterministic(state), strict=False)
        assert not result.unexpected_keys
        assert all('.Relpos.' in k or 'num_batches_tracked' in k for k in result.missing_keys)
        keys[name] = {k: tuple(v.shape) for k, v in state.items()}
        model.eval()  # not chained: the official detection backbone's train() returns None
        model.double()
    return cls, det, keys


def official_outputs(root: str):
    cls, det, _ = official_models(root)
    stages = {}
    for i, layer in enumerate(cls.layers):  # the stage output is the last block's, pre-merging
        layer.blocks[-1].register_forward_hook(
            lambda m, args, out, i=i: stages.__setitem__(i, out.permute(0, 3, 1, 2)))
    out = {}
    with torch.no_grad():
        for hw in SIZES:
            x = make_input(hw).double()
            logits = cls(x)
            out[hw] = dict(stages=[stages[i] for i in range(4)], logits=logits, det=list(det(x)))
    return out


# --------------------------------------------------------------------------- golden summaries
def summarize(t: torch.Tensor) -> dict:
    flat = t.reshape(-1)
    step = max(1, flat.numel() // SAMPLES)
    return dict(shape=tuple(t.shape), step=step, samples=flat[::step][:SAMPLES].clone(),
                channel_mean=t.mean(dim=(0, 2, 3)) if t.dim() == 4 else t.mean(0),
                sum=float(t.double().sum()), abs_sum=float(t.double().abs().sum()))


def golden_from(outputs: dict) -> dict:
    return {f'{h}x{w}': {'stages': [summarize(s) for s in o['stages']],
                         'logits': o['logits'].clone(), 'det': [summarize(d) for d in o['det']]}
            for (h, w), o in outputs.items()}


def _close(name, ours, ref):
    """float64 ``ours`` equals ``ref``; a float32 ``ours`` within F32_SCALED_TOL of ``ref``'s
    largest magnitude."""
    diff = (ours.double() - ref).abs().max().item()
    if ours.dtype == torch.float64:
        assert torch.allclose(ours, ref, atol=F64_ATOL, rtol=F64_RTOL), f'{name}: max abs diff {diff:.2e}'
    else:
        scale = ref.abs().max().item()
        assert diff <= F32_SCALED_TOL * scale, f'{name}: max abs diff {diff:.2e} (scale {scale:.2e})'
    return diff


def golden_diffs(ours: dict, golden: dict) -> list:
    """Compare ``ours`` (:func:`our_outputs`) with the golden summaries; the differences."""
    diffs = []
    for (h, w), out in ours.items():
        ref = golden['outputs'][f'{h}x{w}']
        diffs.append(_close(f'{h}x{w} logits', out['logits'], ref['logits']))
        for kind in ('stages', 'det'):
            for i, (t, r) in enumerate(zip(out[kind], ref[kind])):
                s = summarize(t)
                assert s['shape'] == tuple(r['shape'])
                diffs.append(_close(f'{h}x{w} {kind} {i} samples', s['samples'], r['samples']))
                diffs.append(_close(f'{h}x{w} {kind} {i} channel means', s['channel_mean'],
                                    r['channel_mean']))
                if t.dtype == torch.float64:
                    for k in ('sum', 'abs_sum'):
                        assert s[k] == pytest.approx(r[k], rel=1e-9), (h, w, kind, i, k)
    return diffs


def load_golden() -> dict:
    golden = torch.load(GOLDEN, weights_only=True)
    assert golden['meta']['sizes'] == [list(s) for s in SIZES]
    assert golden['meta']['weight_gain'] == WEIGHT_GAIN and golden['meta']['samples'] == SAMPLES
    assert golden['meta']['dtype'] == 'float64'
    return golden


# --------------------------------------------------------------------------- tests
def _official_root():
    root = os.environ.get(OFFICIAL_ENV)
    if not root:
        pytest.skip(f'${OFFICIAL_ENV} is not set (a checkout of github.com/qhfan/RMT)')
    if not osp.isfile(osp.join(root, 'classfication_release', 'RMT.py')):
        pytest.fail(f'${OFFICIAL_ENV}={root!r} has no classfication_release/RMT.py')
    return root


@pytest.mark.slow
def test_matches_official_code():
    """Whole outputs equal the official code's, fused attention on and off, at both sizes; the
    official key sets (names and shapes) are the ones our converter maps to; FLOPs agree."""
    root = _official_root()
    _, _, official_keys = official_models(root)
    _, _, our_keys = our_models()
    assert official_keys == our_keys
    ref = official_outputs(root)
    for enabled, dtype in ((True, torch.float64), (False, torch.float64), (True, torch.float32),
                           (False, torch.float32)):
        with fast_path(enabled):
            ours = our_outputs(dtype)
        for hw in SIZES:
            for i in range(4):
                _close(f'{hw} stage {i}', ours[hw]['stages'][i], ref[hw]['stages'][i])
                _close(f'{hw} det out {i}', ours[hw]['det'][i], ref[hw]['det'][i])
            _close(f'{hw} logits', ours[hw]['logits'], ref[hw]['logits'])


@pytest.mark.slow
def test_matches_official_golden_outputs():
    """Our RMT-T against the official float64 outputs recorded in tests/data (no official code
    needed): in float64 at F64_ATOL, and in float32 (fast path on and off) within F32_SCALED_TOL."""
    golden = load_golden()
    golden_diffs(our_outputs(torch.float64), golden)
    for enabled in (True, False):
        with fast_path(enabled):
            golden_diffs(our_outputs(torch.float32), golden)


@pytest.mark.slow
def test_a_perturbed_weight_fails_the_golden_comparison():
    """The float64 comparison catches one weight of one block off by 1e-3 (at the first size)."""
    ours = our_outputs(torch.float64, perturb=('backbone.layers.2.blocks.3.ffn.fc1.weight', 1e-3),
                       sizes=SIZES[:1])
    with pytest.raises(AssertionError, match='max abs diff'):
        golden_diffs(ours, load_golden())


def write_golden(root: str, path: str = GOLDEN) -> None:
    """Run the official code (checkout ``root``) and write the golden file."""
    import subprocess
    commit = os.environ.get(OFFICIAL_ENV + '_COMMIT') or subprocess.run(
        ['git', '-C', root, 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
    data = dict(meta=dict(official_commit=commit, torch=str(torch.__version__),
                          sizes=[list(s) for s in SIZES], batch=BATCH, weight_seed=WEIGHT_SEED,
                          input_seed=INPUT_SEED, weight_gain=WEIGHT_GAIN, samples=SAMPLES,
                          dtype='float64'),
                outputs=golden_from(official_outputs(root)))
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(data, path)
    print(f'wrote {path} ({osp.getsize(path) / 1024:.0f} KiB) from {root} at {commit}')


if __name__ == '__main__':
    if not os.environ.get(OFFICIAL_ENV):
        sys.exit(f'set ${OFFICIAL_ENV} to a checkout of github.com/qhfan/RMT')
    write_golden(os.environ[OFFICIAL_ENV])
