"""Our ResTv2 equals the eager reference (the official computation, restv2_mm.analysis.eager_reference) in
every fine-tuning style, at odd sizes, with and without gradients."""

import pytest
import torch

from helpers import run_tool
from restv2_mm.analysis import eager_forward
from restv2_mm.models import ResTv2

# Small windows so that 61x97 and 64x64 inputs need padding in every stage but the last.
WINDOWS = (8, 4, 2, 2)


def model_for(style):
    model = ResTv2('tiny', style=style, window_size=WINDOWS)
    model.init_weights()
    if style == 'cwin':  # zero-initialised: give the convs weights so that they count
        for i in range(1, 5):
            torch.nn.init.normal_(getattr(model, f'cwin_conv{i}').weight, std=0.05)
    return model


@pytest.mark.parametrize('style', ['global', 'win', 'cwin', 'hwin'])
@pytest.mark.parametrize('shape', [(1, 61, 97), (2, 64, 64), (1, 33, 1)])
def test_inference_equals_eager(style, shape):
    model = model_for(style).eval()
    x = torch.randn(shape[0], 3, *shape[1:])
    with torch.no_grad():
        ours, ref = model(x), eager_forward(model, x)
    assert len(ours) == len(ref) == 4
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


@pytest.mark.parametrize('style', ['global', 'win', 'cwin', 'hwin'])
def test_training_forward_and_gradients_equal_eager(style):
    model = model_for(style).train()
    x = torch.randn(2, 3, 45, 71, requires_grad=True)
    weights = [torch.randn(o.shape) for o in eager_forward(model, x)]

    def grads(fn):
        model.zero_grad()
        x.grad = None
        outs = fn()
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
        return outs, x.grad.clone(), {n: p.grad.clone() for n, p in model.named_parameters()}

    ours, gx, gp = grads(lambda: model(x))
    ref, rx, rp = grads(lambda: eager_forward(model, x))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    torch.testing.assert_close(gx, rx, rtol=1e-3, atol=1e-4)
    for name in gp:
        torch.testing.assert_close(gp[name], rp[name], rtol=1e-3, atol=1e-3, msg=name)


def test_with_cp_equals_eager():
    model = ResTv2('tiny', with_cp=True)
    model.init_weights()
    model.train()
    x = torch.randn(1, 3, 50, 70, requires_grad=True)
    ours = model(x)
    sum(o.sum() for o in ours).backward()
    gx, x.grad = x.grad.clone(), None
    ref = eager_forward(model, x)
    sum(o.sum() for o in ref).backward()
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)
    torch.testing.assert_close(gx, x.grad, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_benchmark_cli(tmp_path):
    out = tmp_path / 'styles.json'
    proc = run_tool(['tools/analysis_tools/benchmark.py', '--suites', 'styles', '--no-memory',
                    '--repeat', '1', '--warmup', '0', '--out', out, tmp_path / 'styles.md'], timeout=600)
    for style in ('global (base)', 'win', 'cwin', 'hwin'):
        assert f'| styles 1280x800 | {style} | fp32 | 1x3x800x1280 |' in proc.stdout
    assert out.is_file() and (tmp_path / 'styles.md').read_text().startswith('Machine: ')
    proc = run_tool(['tools/analysis_tools/benchmark.py', '--dtypes', 'bf16'], timeout=300,
                    check=False)
    assert proc.returncode != 0 and '--dtypes bf16/fp16 are for --device cuda' in proc.stderr
