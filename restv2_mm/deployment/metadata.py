"""What an exported file says about itself: the ONNX model's ``metadata_props``.

Key ``restv2_mm`` holds one JSON record: ``task`` (``detection``, ``instance_segmentation``,
``semantic_segmentation``, ``classification`` or ``backbone``), ``scope``, the input (``images``:
(N, 3, H, W) float32 pixel values 0-255 in the loaded channel order; the normalisation and
padding are inside the graph: ``preprocess``), ``dynamic``, ``min_size``, ``shape`` (static files),
``max_batch``, the fixed ``limits`` (score threshold, top-k, IoU thresholds), ``outputs``, the
test ``pipeline`` (what makes the input from an image file), ``dataset_meta`` (classes, palette),
the ``visualizer`` config, ``config``, ``checkpoint``, ``opset`` and ``exporter`` (torch version).
Each limit is also a key of its own (``score_thr`` = ``0.05``), for other tools.
"""
import json
import os.path as osp
from typing import Any, Dict, Optional

METADATA_KEY = 'restv2_mm'
TASKS = ('detection', 'instance_segmentation', 'semantic_segmentation', 'classification',
         'backbone')


def flat_limits(limits: Dict[str, Any]) -> Dict[str, str]:
    """The limits as string metadata entries."""
    return {k: str(v) for k, v in limits.items()}


def _plain(obj):
    """Config values as JSON (tuples become lists; :func:`pipeline_from_json` turns them back)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f'config value {obj!r} ({type(obj).__name__}) cannot be stored in the ONNX '
                    f'metadata (JSON)')


def pipeline_from_json(obj):
    """The stored pipeline with lists of numbers as tuples again (mmcv's ``Resize`` takes a
    ``scale`` tuple, not a list)."""
    if isinstance(obj, dict):
        return {k: pipeline_from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [pipeline_from_json(v) for v in obj]
        plain = all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in items)
        return tuple(items) if plain and items else items
    return obj


def inference_pipeline(cfg) -> list:
    """The config's test pipeline without annotation loading (as the mmdet / mmseg / mmpretrain
    inferencers build it): :func:`restv2_mm.analysis.eval_pipeline`, as plain dicts.

    Raises:
        ValueError: the config has no test pipeline.
    """
    from ..analysis import eval_pipeline
    try:
        pipeline = eval_pipeline(cfg)
    except ValueError as e:
        raise ValueError('the config has no test_dataloader.dataset.pipeline nor test_pipeline: '
                         'the exported file needs it to prepare images') from e
    return [dict(t) for t in pipeline]


def dataset_meta(cfg, scope: str, checkpoint_meta: Optional[dict] = None) -> dict:
    """Classes (and palette) of the model: the checkpoint's ``dataset_meta`` if it has one, else
    the test dataset's ``METAINFO`` updated by the config's ``metainfo``."""
    if checkpoint_meta and checkpoint_meta.get('dataset_meta'):
        meta = checkpoint_meta['dataset_meta']
    else:
        import importlib
        loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
        dataset = loader.get('dataset') or {}
        registry = importlib.import_module(f'{scope}.registry').DATASETS
        cls = registry.get(dataset.get('type')) if dataset.get('type') else None
        meta = dict(getattr(cls, 'METAINFO', {}) or {})
        meta.update(dataset.get('metainfo') or {})
    return {k: _plain(v) for k, v in meta.items() if k in ('classes', 'palette')}


def task_of(scope: str, graph) -> str:
    """The task name of an exported graph (one of :data:`TASKS`)."""
    if type(graph).__name__ == 'BackboneGraph':
        return 'backbone'
    if scope == 'mmdet':
        return 'instance_segmentation' if 'masks' in graph.output_names else 'detection'
    return {'mmseg': 'semantic_segmentation', 'mmpretrain': 'classification'}[scope]


def model_metadata(cfg, scope: str, graph, config: str, checkpoint: Optional[str] = None,
                   checkpoint_meta: Optional[dict] = None) -> Dict[str, Any]:
    """The JSON record (without the export's own entries, which :func:`export_onnx` adds).

    Raises:
        ValueError: no test pipeline; TypeError: a pipeline value JSON cannot hold.
    """
    import torch
    task = task_of(scope, graph)
    record = dict(task=task, scope=scope, config=str(config),
                  checkpoint=osp.basename(checkpoint) if checkpoint else None,
                  exporter=f'torch.export + torch.onnx.export(dynamo=True), torch {torch.__version__}',
                  input=dict(name='images', layout='NCHW', dtype='float32', range='0-255',
                             channels='as loaded by the pipeline (mmcv: BGR)'))
    if task == 'backbone':
        return record
    pre = graph.preprocess
    record['preprocess'] = dict(
        mean=pre.mean.flatten().tolist() if pre.normalize else None,
        std=pre.std.flatten().tolist() if pre.normalize else None,
        flip_channels=pre.flip_channels, size_divisor=pre.size_divisor, pad_value=pre.pad_value)
    record['pipeline'] = _plain(inference_pipeline(cfg))
    record['dataset_meta'] = dataset_meta(cfg, scope, checkpoint_meta)
    record['visualizer'] = _plain(dict(cfg.get('visualizer') or {}))
    if task == 'semantic_segmentation':
        head = graph.model.decode_head
        record['segmentation'] = dict(align_corners=bool(head.align_corners),
                                      threshold=float(getattr(head, 'threshold', None) or 0.3))
    if task == 'classification':
        record['classification'] = dict(
            activation='sigmoid' if 'MultiLabel' in type(graph.model.head).__name__ else 'softmax')
    return record


def read_metadata(model_proto_or_session) -> Dict[str, Any]:
    """The JSON record of an exported file, from an ``onnx.ModelProto`` or an onnxruntime
    ``InferenceSession``.

    Raises:
        ValueError: the file was not exported by :func:`restv2_mm.deployment.export_onnx`.
    """
    if hasattr(model_proto_or_session, 'get_modelmeta'):
        props = model_proto_or_session.get_modelmeta().custom_metadata_map
    else:
        props = {p.key: p.value for p in model_proto_or_session.metadata_props}
    if METADATA_KEY not in props:
        raise ValueError(f'the ONNX file has no {METADATA_KEY!r} metadata: it was not exported by '
                         f'tools/deployment/pytorch2onnx.py')
    record = json.loads(props[METADATA_KEY])
    # JSON has no tuples: palette colours come back as lists, and mmengine's visualizer takes
    # only tuples as colours.
    meta = record.get('dataset_meta') or {}
    if meta.get('palette') is not None:
        meta['palette'] = [tuple(c) for c in meta['palette']]
    return record
