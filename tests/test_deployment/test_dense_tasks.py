"""Segmentors, classifiers and bare backbones export once with --dynamic and match PyTorch:
Semantic FPN (narrow ResTv2) on real ADE20K and CamVid images (logits within 1e-4, >= 99.9 %
equal labels, at three input sizes and as a batch of two), the RMT classifier (narrow) at three
sizes, batch 1 and 2, and ResTv2 backbones in the 'cwin' and 'hwin' styles at 224x224, 333x517
and 800x1333. A window style traced where one window covers a stage stops with the size range
and a size that works; traced at 224x224 without --dynamic it exports. UperNet and the ResTv2
classifier (trained) run through the tool in tests/test_tools/test_deployment.py."""
import numpy as np
import pytest
import torch

from deploy_helpers import NARROW, assert_parity, export_file, images, narrow_config
from restv2_mm import ops
from restv2_mm.apis import build_model
from restv2_mm.deployment import BackboneGraph, ExportError, deploy_graph, export_onnx
from restv2_mm.models import ResTv2

pytestmark = [pytest.mark.slow, pytest.mark.deploy_sweep]
SIZES = [(224, 224), (333, 517), (800, 1333)]


def onnx_run(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


@pytest.mark.mmcv_ops
def test_semantic_fpn(tmp_path):
    cfg = narrow_config('configs/mmseg/fpn_rmt_t_512x512_80k_ade20k.py', backbone='ResTv2')
    model = build_model(cfg)
    model.init_weights()
    export_file(model.eval(), cfg, tmp_path / 'seg.onnx')
    # ADE 512x683, 364x500, 300x400 -> 256x342, 256x352, 256x341
    reports = assert_parity(model, tmp_path / 'seg.onnx', images('ade_mini/images/validation', 3))
    assert all(r['equal_labels'] >= 0.999 for r in reports)
    assert_parity(model, tmp_path / 'seg.onnx', images('camvid_mini/images/val', 2), batch_size=2)


def test_rmt_classifier(tmp_path):
    cfg = narrow_config('configs/mmpretrain/rmt_t_8xb128_in1k.py')
    model = build_model(cfg)
    model.init_weights()
    graph = deploy_graph(model.eval(), 'mmpretrain')
    info = export_onnx(graph, str(tmp_path / 'cls.onnx'), dynamic=True)
    assert max(info['min_size']) <= 64
    for batch, (h, w) in zip((1, 2, 1), [(224, 224), (256, 320), (333, 517)]):
        x = torch.rand(batch, 3, h, w) * 255
        with torch.no_grad():
            want = model(model.data_preprocessor(dict(inputs=x), False)['inputs'], mode='tensor')
        got = onnx_run(tmp_path / 'cls.onnx', x)[0]
        assert np.abs(got - want.numpy()).max() < 1e-4 and (got.argmax(1) == want.argmax(1).numpy()).all()


@pytest.mark.parametrize('style', ['cwin', 'hwin'])
def test_backbone_styles_at_every_size(style, tmp_path):
    model = ResTv2(NARROW['ResTv2'], style=style).eval()
    model.init_weights()
    if style == 'cwin':  # zero-initialised: give the convs weights so that they count
        for i in range(1, 5):
            torch.nn.init.normal_(getattr(model, f'cwin_conv{i}').weight, std=0.05)
    info = export_onnx(BackboneGraph(model), str(tmp_path / f'{style}.onnx'), dynamic=True)
    assert max(info['min_size']) <= 64
    for h, w in SIZES:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad(), ops.fast_path(False):
            want = model(x)
        got = onnx_run(tmp_path / f'{style}.onnx', x)
        assert [g.shape for g in got] == [tuple(t.shape) for t in want]
        assert max(float(np.abs(g - t.numpy()).max()) for g, t in zip(got, want)) < 1e-4


def test_one_window_trace_says_what_works(tmp_path):
    graph = BackboneGraph(ResTv2(NARROW['ResTv2'], style='win').eval())
    with pytest.raises(ExportError, match=r'holds for height 17\.\.256 only.*--shape 800 1344'):
        export_onnx(graph, str(tmp_path / 'a.onnx'), shape=(224, 224), dynamic=True)
    assert not list(tmp_path.iterdir())
    export_onnx(graph, str(tmp_path / 'b.onnx'), shape=(224, 224))  # static: that size only
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad(), ops.fast_path(False):
        want = graph(x)
    got = onnx_run(tmp_path / 'b.onnx', x)
    assert max(float(np.abs(g - t.numpy()).max()) for g, t in zip(got, want)) < 1e-4
