"""What a file says about itself: the test pipeline without annotations, stored as JSON and read
back with mmcv's tuples; the benchmark record rendered as its table; files without our metadata
refused with the reason."""
import json

import onnx
import pytest
from mmengine.config import Config
from onnx import TensorProto, helper

from restv2_mm.deployment import read_metadata, render_benchmark
from restv2_mm.deployment.metadata import inference_pipeline, pipeline_from_json


def test_pipeline_round_trip():
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(512, 320), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='PackDetInputs', meta_keys=('img_path', ))]))))
    pipeline = inference_pipeline(cfg)
    assert [t['type'] for t in pipeline] == ['LoadImageFromFile', 'Resize', 'PackDetInputs']
    back = pipeline_from_json(json.loads(json.dumps(pipeline)))
    assert back[1]['scale'] == (512, 320) and back[2]['meta_keys'] == ('img_path', )
    with pytest.raises(ValueError, match='no test_dataloader.dataset.pipeline'):
        inference_pipeline(Config(dict()))


def test_a_file_without_our_metadata(tmp_path):
    graph = helper.make_graph([helper.make_node('Identity', ['x'], ['y'])], 'g',
                              [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match='not exported by tools/deployment/pytorch2onnx.py'):
        read_metadata(helper.make_model(graph))
    model = helper.make_model(graph)
    helper.set_model_props(model, {'restv2_mm': json.dumps(dict(task='backbone'))})
    onnx.save(model, str(tmp_path / 'm.onnx'))
    assert read_metadata(onnx.load(str(tmp_path / 'm.onnx'))) == dict(task='backbone')


def test_benchmark_table():
    record = dict(argv=[], machine='cpu', torch='2', onnxruntime='1', rows=[
        dict(config='m.py', task='detection', input='320x427', export_s=61.2, megabytes=83.4,
             onnxruntime_ms=[200., 190., 230.], pytorch_ms=[400., 380., 410.])])
    lines = render_benchmark(record).splitlines()
    assert lines[2] == '| m.py | detection | 320x427 | 61 | 83 | 200 [190, 230] | 400 [380, 410] | 0.50 |'
    assert lines[-1] == 'Machine: cpu; torch 2, onnxruntime 1.'
