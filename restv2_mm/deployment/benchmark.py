"""Export time, file size and onnxruntime against PyTorch latency of task models, as a JSON record
and its markdown table (docs/deployment.md).

Both sides run end to end on one real image after the test pipeline: PyTorch ``model.test_step``
(data preprocessor, ``predict`` with its post-processing, the fast paths on, as a user runs it)
against the file in onnxruntime plus the numpy steps after it
(:meth:`OnnxInferencer.to_sample`: rescaling, mask pasting, logits resizing), in interleaved rounds
(:func:`restv2_mm.analysis.measure_interleaved`), so that the ratio holds on a noisy machine.
"""
import os.path as osp
from typing import Dict, Sequence

import torch

from ..analysis import machine_name, measure_interleaved
from ..utils import markdown_table
from .export import deploy_graph, export_onnx
from .inference import OnnxInferencer
from .metadata import model_metadata

RECORD_KEYS = ('argv', 'machine', 'torch', 'onnxruntime', 'rows')
# One real image per task, under the data root (shared/data): what the rows are timed on.
SAMPLE_IMAGES = {'mmdet': 'coco_mini/val2017/000000005001.jpg',
                 'mmseg': 'ade_mini/images/validation/ADE_val_00000001.jpg',
                 'mmpretrain': 'imagenet_mini/val/ILSVRC2012_val_00000001.JPEG'}


def benchmark_model(model, cfg, scope: str, config: str, image: str, path: str,
                    repeat: int = 5, warmup: int = 1) -> Dict:
    """Export ``model`` (dynamic) to ``path`` and time it against PyTorch on ``image``.

    Returns:
        dict: ``config`` (file name), ``task``, ``input`` ('HxW' after the pipeline),
        ``export_s``, ``megabytes``, ``onnxruntime_ms`` and ``pytorch_ms`` ([median, min, max]).
    """
    graph = deploy_graph(model, scope)
    info = export_onnx(graph, path, dynamic=True, metadata=model_metadata(cfg, scope, graph, config))
    inferencer = OnnxInferencer(path, num_threads=torch.get_num_threads())
    data = inferencer.pipeline(dict(img_path=image))
    images = data['inputs'].numpy().astype('float32')[None]

    def onnx():
        return inferencer.to_sample(inferencer.run(images), 0, data['data_samples'].clone())

    def pytorch():
        with torch.no_grad():
            return model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples'].clone()]))

    ort_ms, torch_ms = measure_interleaved([onnx, pytorch], warmup=warmup, repeat=repeat)
    return dict(config=osp.basename(config), task=inferencer.task,
                input='x'.join(str(s) for s in images.shape[2:]), export_s=round(info['seconds'], 1),
                megabytes=round(info['megabytes'], 1),
                onnxruntime_ms=[round(ort_ms[k], 1) for k in ('median_ms', 'min_ms', 'max_ms')],
                pytorch_ms=[round(torch_ms[k], 1) for k in ('median_ms', 'min_ms', 'max_ms')])


def benchmark_record(rows: Sequence[Dict], argv: Sequence[str]) -> Dict:
    """The JSON record of :func:`benchmark_model` rows, with the machine and versions."""
    import onnxruntime
    return dict(argv=list(argv), machine=machine_name('cpu'), torch=torch.__version__,
                onnxruntime=onnxruntime.__version__, rows=list(rows))


def render_benchmark(record: Dict) -> str:
    """The markdown table of a :func:`benchmark_record`, then its machine line."""
    def ms(v):
        return f'{v[0]:.0f} [{v[1]:.0f}, {v[2]:.0f}]'
    rows = [(r['config'], r['task'], r['input'], f'{r["export_s"]:.0f}', f'{r["megabytes"]:.0f}',
             ms(r['onnxruntime_ms']), ms(r['pytorch_ms']),
             f'{r["onnxruntime_ms"][0] / r["pytorch_ms"][0]:.2f}') for r in record['rows']]
    table = markdown_table(['config', 'task', 'input', 'export s', 'file MiB', 'onnxruntime ms',
                            'PyTorch ms', 'ratio'], rows)
    return table + (f'\nMachine: {record["machine"]}; torch {record["torch"]}, onnxruntime '
                    f'{record["onnxruntime"]}.\n')
