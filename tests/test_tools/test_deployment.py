"""ONNX export: one dynamic-size file per fine-tuning style runs in onnxruntime at
224x224, 333x517 (not a multiple of 32 nor of the windows) and 800x1333 with the PyTorch outputs
to 1e-4; the classifier and UperNet export through the tool; what cannot export says why.

The per-style files use a narrow ResTv2 (every layer kind, one block a stage): the styles differ in
how attention is windowed, not in width or depth, and the narrow graph converts in a third of the
time. ResTv2-T itself exports in the tool test below."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from helpers import REPO, load_tool, run_tool
from restv2_mm.models import ResTv2

TOOL = osp.join(REPO, 'tools', 'deployment', 'pytorch2onnx.py')
pytorch2onnx = load_tool('tools/deployment/pytorch2onnx.py')
SIZES = [(224, 224), (333, 517), (800, 1333)]
NARROW = dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])


def onnx_outputs(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


@pytest.mark.slow
@pytest.mark.parametrize('style', ['global', 'win', 'cwin', 'hwin'])
def test_backbone_exports_once_and_runs_at_every_size(style, tmp_path):
    torch.manual_seed(0)
    model = ResTv2(NARROW, style=style).eval()
    model.init_weights()
    if style == 'cwin':  # zero-initialised: give the convs weights so that they count
        for i in range(1, 5):
            torch.nn.init.normal_(getattr(model, f'cwin_conv{i}').weight, std=0.05)
    module = pytorch2onnx.Exported(model).eval()
    path = tmp_path / f'restv2_t_{style}.onnx'
    low = pytorch2onnx.export(module, torch.randn(1, 3, 800, 1344), str(path), dynamic=True,
                              opset=18)
    assert max(low) <= 64  # a dynamic file: small sizes too, not only the traced one
    for h, w in SIZES:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            want = model(x)
        got = onnx_outputs(path, x)
        assert [g.shape for g in got] == [tuple(t.shape) for t in want]
        diff = max(float(np.abs(g - t.numpy()).max()) for g, t in zip(got, want))
        assert diff < 1e-4, (style, h, w, diff)


def export(*args, check=True):
    return run_tool([TOOL, *args], check=check)


@pytest.mark.slow
def test_classifier_and_upernet_through_the_tool(tmp_path):
    proc = export('configs/mmpretrain/restv2_t_8xb256_in1k.py', '--out', tmp_path / 'cls.onnx',
                  '--dynamic', '--verify', 224, 224, 333, 517)
    assert '333x517: onnxruntime vs PyTorch' in proc.stdout and '(1, 1000)' in proc.stdout
    proc = export('configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py', '--out',
                  tmp_path / 'seg.onnx', '--shape', 512, 512, '--verify', 512, 512)
    assert '(1, 150, 128, 128)' in proc.stdout


@pytest.mark.slow
def test_what_cannot_export_says_why(tmp_path):  # B37
    proc = export('configs/mmdet/mask_rcnn_restv2_t_3x.py', '--out', tmp_path / 'det.onnx', check=False)
    assert proc.returncode != 0 and 'mmdet.core' in proc.stderr and '--part backbone' in proc.stderr
    proc = export('configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py', '--out',
                  tmp_path / 'seg.onnx', '--dynamic', check=False)
    assert proc.returncode != 0 and 'adaptive pooling' in proc.stderr and '--shape' in proc.stderr
    proc = export('configs/mmpretrain/restv2_t_8xb256_in1k.py', '--out', tmp_path / 'x.txt', check=False)
    assert proc.returncode != 0 and '--out must end in .onnx' in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_report_keeps_one_entry_per_export_and_renders(tmp_path):
    path = str(tmp_path / 'onnx.json')

    def entry(style, diff):
        return dict(config='configs/x.py', part='backbone', style=style, dynamic=True,
                    smallest=[17, 17], machine='cpu', torch='2', onnxruntime='1', argv=[],
                    rows=[dict(input='224x224', max_abs_diff=diff,
                               onnxruntime_ms=[2., 1., 3.], pytorch_ms=[4., 3., 5.])])
    pytorch2onnx.write_report(path, entry('win', 1e-5))
    pytorch2onnx.write_report(path, entry('hwin', 2e-5))
    pytorch2onnx.write_report(path, entry('win', 3e-5))  # a rerun replaces its entry
    with open(path) as f:
        data = json.load(f)
    assert [(e['style'], e['rows'][0]['max_abs_diff']) for e in data['entries']] == \
        [('hwin', 2e-5), ('win', 3e-5)]
    table = pytorch2onnx.render(data).splitlines()
    assert table[2] == '| x.py | backbone | hwin | 224x224 | 2.0e-05 | 2 [1, 3] | 4 [3, 5] | 0.50 | 17x17 |'
    assert table[-1] == 'Machine: cpu; torch 2, onnxruntime 1.'
