"""The deployment tools on the trained demo checkpoints: Mask R-CNN, UperNet and the classifier
(ResTv2-T, tests/test_tools/conftest.py) export through tools/deployment/pytorch2onnx.py with
--dynamic, each once, and the files match PyTorch on real images (restv2_mm.deployment.compare:
docs/deployment.md's criteria); tools/deployment/onnx_inference.py draws the predictions beside
PyTorch's. What cannot export, or cannot run, says why.

The tools run in this process (their ``main``), as the parity checks need the models anyway."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from deploy_helpers import (
    assert_parity,
    blank_image,
    build_test_pipeline,
    coco_images,
    decisive_heads,
    images,
    same_size_pair,
)
from helpers import load_tool
from restv2_mm.deployment import OnnxInferencer, load_model

pytestmark = [pytest.mark.slow, pytest.mark.mmcv_ops]
pytorch2onnx = load_tool('tools/deployment/pytorch2onnx.py')
onnx_inference = load_tool('tools/deployment/onnx_inference.py')
COCO = 'coco_mini/val2017'


@pytest.mark.deploy_sweep  # minutes of export: `make test-deploy`
def test_mask_rcnn(demo_runs, tmp_path):
    """Trained one step, the heads score every class near 1/81: they are made decisive (scaled
    class and mask logits, the blank image left without detections) and saved as the checkpoint
    the tools get."""
    run = demo_runs['mmdet']
    cfg, _, model, meta = load_model(run.config, run.checkpoint)
    paths = [blank_image(tmp_path)] + coco_images()  # five input sizes
    assert decisive_heads(model, build_test_pipeline(cfg), paths) == 0
    checkpoint = tmp_path / 'decisive.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=meta), checkpoint)
    pytorch2onnx.main([run.config, str(checkpoint), '--out', str(tmp_path / 'mask_rcnn.onnx'), '--dynamic'])
    out = tmp_path / 'pictures'
    onnx_inference.main([str(tmp_path / 'mask_rcnn.onnx'), *paths, '--out', str(out), '--pytorch',
                         run.config, str(checkpoint)])
    with open(out / 'parity.json') as f:
        parity = json.load(f)
    counts = [parity[p]['counts'] for p in paths]
    assert all(r['ok'] for r in parity.values()) and counts[0] == [0, 0], parity
    assert all(c[0] >= 1 for c in counts[1:]) and sum(c[0] for c in counts) >= 10, counts
    assert all(parity[p]['min_mask_iou'] >= 0.98 for p in paths[1:])
    stem = osp.splitext(osp.basename(paths[1]))[0]
    assert (out / f'{stem}.png').is_file() and (out / f'{stem}_pytorch.png').is_file()
    assert_parity(model, tmp_path / 'mask_rcnn.onnx', same_size_pair(COCO), batch_size=2)
    assert_mask_probabilities(model, tmp_path / 'mask_rcnn.onnx', paths[1])


def assert_mask_probabilities(model, path, image):
    """The file's 28x28 mask probabilities are the mask head's (mmdet, mmcv RoIAlign) on the same
    boxes, within 1e-3."""
    from mmdet.structures.bbox import bbox2roi
    inferencer = OnnxInferencer(str(path))
    data = inferencer.prepare(image)
    out = inferencer.run(data['inputs'][None])
    n = int(out['num_dets'][0])
    boxes, labels = torch.from_numpy(out['boxes'][0, :n]), torch.from_numpy(out['labels'][0, :n])
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[torch.from_numpy(data['inputs'])]), False)['inputs']
        probs = model.roi_head._mask_forward(model.extract_feat(x), bbox2roi([boxes]))['mask_preds']
    want = probs.sigmoid()[torch.arange(n), labels].numpy()
    assert n > 0 and np.abs(out['masks'][0, :n] - want).max() < 1e-3


@pytest.mark.deploy_sweep  # minutes of export: `make test-deploy`
def test_upernet(demo_runs, tmp_path):
    run = demo_runs['mmseg']
    ade = images('ade_mini/images/validation', 3)  # 512x683, 364x500, 300x400 -> 256x342, 256x352, 256x341
    pytorch2onnx.main([run.config, run.checkpoint, '--out', str(tmp_path / 'upernet.onnx'), '--dynamic',
                       '--verify', *ade])
    model = load_model(run.config, run.checkpoint)[2]
    reports = assert_parity(model, tmp_path / 'upernet.onnx', same_size_pair('camvid_mini/images/val'),
                            batch_size=2)
    assert all(r['max_logit_diff'] < 1e-4 for r in reports)


@pytest.fixture(scope='module')
def classifier(demo_runs, tmp_path_factory):
    run = demo_runs['mmpretrain']
    path = tmp_path_factory.mktemp('cls') / 'classifier.onnx'
    pytorch2onnx.main([run.config, run.checkpoint, '--out', str(path), '--dynamic',
                       '--verify', *images('imagenet_mini/val', 3)])
    return run, path


def test_classifier_logits_at_every_size(classifier):
    run, path = classifier
    model = load_model(run.config, run.checkpoint)[2]
    inferencer = OnnxInferencer(str(path))
    for batch, (h, w) in zip((1, 2, 1), [(224, 224), (256, 320), (333, 517)]):
        x = torch.rand(batch, 3, h, w) * 255
        with torch.no_grad():
            want = model(model.data_preprocessor(dict(inputs=x), False)['inputs'], mode='tensor')
        got = inferencer.run(x.numpy())['logits']
        assert np.abs(got - want.numpy()).max() < 1e-4 and (got.argmax(1) == want.argmax(1).numpy()).all()


def onnx_with_metadata(path, **record):
    """A one-node ONNX file (Identity) with the given restv2_mm metadata record."""
    import onnx
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node('Identity', ['images'], ['logits'])], 'g',
                              [helper.make_tensor_value_info('images', TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info('logits', TensorProto.FLOAT, None)])
    model = helper.make_model(graph)
    helper.set_model_props(model, {'restv2_mm': json.dumps(record)})
    onnx.save(model, str(path))
    return str(path)


def test_what_cannot_export_or_run_says_why(classifier, tmp_path, capsys):  # B37
    run, path = classifier
    with pytest.raises(SystemExit):
        pytorch2onnx.main([run.config, '--out', str(tmp_path / 'x.txt')])
    assert '--out must end in .onnx' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='pytorch2onnx: opset must be >= 16'):
        pytorch2onnx.main([run.config, '--out', str(tmp_path / 'x.onnx'), '--dynamic', '--opset', '11'])
    with pytest.raises(SystemExit, match='holds a backbone'):
        onnx_inference.main([onnx_with_metadata(tmp_path / 'b.onnx', task='backbone'), path.as_posix(),
                             '--out', str(tmp_path)])
    static = OnnxInferencer(onnx_with_metadata(tmp_path / 's.onnx', task='classification', dynamic=False,
                                               shape=[224, 224]))
    with pytest.raises(ValueError, match='exported for batch 1 at 224x224 only'):
        static.run(np.zeros((1, 3, 256, 256), np.float32))
    with pytest.raises(ValueError, match='below the smallest size this file takes'):
        OnnxInferencer(str(path)).run(np.zeros((1, 3, 8, 8), np.float32))
    assert not (tmp_path / 'x.txt').exists() and not (tmp_path / 'x.onnx').exists()
