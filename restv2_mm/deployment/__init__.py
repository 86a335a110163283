"""Deployment: a trained model to one ONNX file (post-processing included) and its predictions in
onnxruntime, checked against PyTorch (docs/deployment.md).

Sits above :mod:`restv2_mm.apis` (it builds models from configs) and below the command-line layer.
"""
from .benchmark import RECORD_KEYS, SAMPLE_IMAGES, benchmark_model, benchmark_record, render_benchmark
from .dense_tasks import BackboneGraph, ClassifierGraph, SegmentorGraph
from .detectors import SingleStageDetectorGraph, TwoStageDetectorGraph
from .export import (
    TRACE_SHAPE,
    ExportError,
    check_export_supported,
    deploy_graph,
    export_onnx,
    export_supported,
    load_model,
)
from .inference import OnnxInferencer, draw, load_images, summarize
from .metadata import METADATA_KEY, model_metadata, read_metadata
from .nms import nms_keep, nms_keep_reference
from .parity import TOLERANCES, compare, compare_detections, pytorch_predict
from .pooling import ExactAdaptiveAvgPool2d, exact_pooling
from .postprocess import paste_masks, resize_bilinear

__all__ = ['BackboneGraph', 'benchmark_model', 'benchmark_record', 'check_export_supported',
           'ClassifierGraph', 'compare', 'compare_detections', 'deploy_graph', 'draw',
           'ExactAdaptiveAvgPool2d', 'exact_pooling', 'export_onnx', 'export_supported', 'ExportError',
           'load_images', 'load_model', 'METADATA_KEY', 'model_metadata', 'nms_keep',
           'nms_keep_reference', 'OnnxInferencer', 'paste_masks', 'pytorch_predict', 'read_metadata',
           'RECORD_KEYS', 'render_benchmark', 'resize_bilinear', 'SAMPLE_IMAGES', 'SegmentorGraph',
           'SingleStageDetectorGraph', 'summarize', 'TOLERANCES', 'TRACE_SHAPE', 'TwoStageDetectorGraph']
