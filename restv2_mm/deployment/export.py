"""From a model to one ``.onnx`` file: the task graph, ``torch.export``, ONNX, metadata, one write.

The exporter is torch's dynamo-based one for every task (``torch.export`` then
``torch.onnx.export(dynamo=True)``), on the models' plain-PyTorch reference path
(``restv2_mm.ops.fast_path(False)``). With ``dynamic`` the batch, height and width are symbolic
and ``torch.export`` proves for which sizes the traced graph holds (its range constraints); a
traced size at which the model takes a size-specific path (e.g. a window style with one window
per stage) gives a bounded range, and the export stops naming that range and a size to trace at
instead. The detectors' post-processing has no data-dependent shapes (:mod:`.boxes`), which is
what lets ``torch.export`` take two-stage detectors. docs/deployment.md gives the reasons against
the TorchScript exporter and mmdeploy.
"""
import json
import math
import time
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from .. import ops
from ..utils import atomic_write, has_dynamo_onnx_export
from ..utils.torch_compat import require
from .dense_tasks import BackboneGraph, ClassifierGraph, SegmentorGraph
from .detectors import SingleStageDetectorGraph, TwoStageDetectorGraph
from .metadata import METADATA_KEY, flat_limits
from .nms import onnx_translations

# A dynamic graph is traced at a size where every stage of every backbone has several windows,
# so that no one-window path is taken (fake tensors: the size costs nothing).
TRACE_SHAPE = (800, 1344)
MAX_BATCH = 1024
MIN_OPSET = 16  # RoiAlign's coordinate_transformation_mode (half_pixel)


class ExportError(RuntimeError):
    """An export that cannot give a correct file; the message says why and what works."""


def export_supported() -> bool:
    """Whether this torch has what :func:`export_onnx` uses: ``torch.onnx.export(dynamo=True)``
    with ``custom_translation_table``, size-oblivious ``torch.export``, ``Dim.AUTO`` and
    ``torch.library.custom_op`` (tested on torch 2.14)."""
    return has_dynamo_onnx_export() and hasattr(torch.library, 'custom_op') and \
        hasattr(torch.export.Dim, 'AUTO')


def check_export_supported() -> None:
    """Raise where this torch cannot export (:func:`export_supported`), naming what is needed.

    Raises:
        RuntimeError: the features and the tested version.
    """
    require(export_supported(), 'ONNX export',
            'torch.onnx.export(dynamo=True) with custom_translation_table, size-oblivious '
            'torch.export with Dim.AUTO and torch.library.custom_op; it is tested on torch 2.14 '
            '(requirements/pinned.txt)')


def deploy_graph(model: nn.Module, scope: str, part: str = 'model') -> nn.Module:
    """The exportable graph of an OpenMMLab model (see :mod:`.detectors`, :mod:`.dense_tasks`).

    Args:
        model: A built mmdet / mmseg / mmpretrain model.
        scope: 'mmdet', 'mmseg' or 'mmpretrain'.
        part: 'model' (post-processing included) or 'backbone'.

    Raises:
        ValueError: a model kind this does not export; names it.
    """
    if part == 'backbone':
        return BackboneGraph(model.backbone)
    if part != 'model':
        raise ValueError(f"part must be 'model' or 'backbone', got {part!r}")
    if scope == 'mmdet':
        if hasattr(model, 'rpn_head') and hasattr(model, 'roi_head'):
            return TwoStageDetectorGraph(model)
        if hasattr(model, 'bbox_head') and hasattr(model.bbox_head, 'prior_generator'):
            return SingleStageDetectorGraph(model)
        raise ValueError(f'detector {type(model).__name__}: only two-stage (RPN + RoI head) and '
                         f'single-stage anchor detectors are exported')
    if scope == 'mmseg':
        return SegmentorGraph(model)
    if scope == 'mmpretrain':
        return ClassifierGraph(model)
    raise ValueError(f"scope must be 'mmdet', 'mmseg' or 'mmpretrain', got {scope!r}")


def _trace(graph: nn.Module, x: torch.Tensor, dynamic: bool):
    import torch.fx.experimental._config as fx_config
    shapes = None
    if dynamic:
        auto = torch.export.Dim.AUTO
        shapes = ({0: torch.export.Dim('batch', min=1, max=MAX_BATCH), 2: auto, 3: auto}, )
    # Size-oblivious shapes: a size of 1 is not special, so the graph stays general; checks the
    # exporter cannot prove become runtime asserts rather than specialisations.
    with ops.fast_path(False), torch.no_grad(), fx_config.patch(backed_size_oblivious=True):
        try:
            return torch.export.export(graph, (x, ), dynamic_shapes=shapes, strict=False,
                                       prefer_deferred_runtime_asserts_over_guards=True)
        except Exception as e:
            model = getattr(graph, 'model', getattr(graph, 'backbone', graph))
            raise ExportError(f'torch.export could not trace {type(model).__name__} at '
                              f'{tuple(x.shape)}: {_first_line(e)}') from e


def _first_line(error: Exception) -> str:
    """The exception's type and first line (the exporters' messages run to pages)."""
    return f'{type(error).__name__}: {(str(error).strip().splitlines() or [""])[0]}'


def _size_range(program, shape: Tuple[int, int]) -> Tuple[int, int]:
    """The smallest (H, W) the traced dynamic graph holds for.

    Raises:
        ExportError: a size the graph holds for up to a bound only, or not at all (specialised).
    """
    name = program.graph_signature.user_inputs[0]
    node = next(n for n in program.graph.nodes if n.name == name)
    low = []
    for axis, size in zip(('height', 'width'), shape):
        dim = node.meta['val'].shape[2 if axis == 'height' else 3]
        if not isinstance(dim, torch.SymInt):
            what = 'export without --dynamic (one size a file)' if tuple(shape) == TRACE_SHAPE \
                else f'trace it at --shape {TRACE_SHAPE[0]} {TRACE_SHAPE[1]} (the default)'
            raise ExportError(f'the graph traced at {shape[0]}x{shape[1]} holds at that {axis} '
                              f'only: the model takes a path specific to {size}; {what}')
        bound = program.range_constraints[dim.node.expr]
        if not math.isinf(float(bound.upper)):
            suggest = TRACE_SHAPE if max(TRACE_SHAPE) > int(bound.upper) else \
                (int(bound.upper) + 32, ) * 2
            raise ExportError(
                f'the graph traced at {shape[0]}x{shape[1]} holds for {axis} '
                f'{int(bound.lower)}..{int(bound.upper)} only: at this size the model takes a '
                f'size-specific path (e.g. one attention window per stage); trace it at a larger '
                f'size: --shape {suggest[0]} {suggest[1]}')
        low.append(max(int(bound.lower), 1))  # a bound of 0 only says no guard asked for more
    return low[0], low[1]


def _refuse_mhim(graph: nn.Module) -> None:
    # MHIM normalises near-uniform softmax rows with an InstanceNorm, which amplifies rounding:
    # onnxruntime's float32 kernels put ResTv1's outputs 2e-2 to 0.9 away from float64 (PyTorch
    # float32: within 5e-4), so the file would give other answers than the model (docs/deployment.md).
    names = [name for name, m in graph.named_modules() if getattr(m, 'mhim', False)]
    if names:
        raise ExportError(f'{len(names)} attention modules use ResTv1\'s multi-head interaction '
                          f'(MHIM; first: {names[0]}), which onnxruntime computes too far from '
                          f'PyTorch (outputs off by up to 0.9): not exported')


def export_onnx(graph: nn.Module, path: str, shape: Optional[Sequence[int]] = None,
                dynamic: bool = False, opset: int = 18,
                metadata: Optional[Dict] = None) -> Dict:
    """Export ``graph`` (from :func:`deploy_graph`) to ``path`` with ``metadata``.

    Args:
        graph: The task graph; its input is named ``images``, its outputs ``graph.output_names``.
        path: The ``.onnx`` file, written atomically (never a half file).
        shape: (H, W) traced; default :data:`TRACE_SHAPE` with ``dynamic``, else required.
        dynamic: Symbolic batch (1..1024), height and width; else batch 1 at ``shape`` only.
        opset: ONNX opset, >= 16.
        metadata: JSON-able dict stored in the file under ``restv2_mm`` (see :mod:`.metadata`).

    Returns:
        dict: ``seconds`` (export time), ``megabytes`` (file size, MiB), ``min_size`` ((H, W)
        the dynamic file takes, or None), ``shape`` (traced (H, W)).

    Raises:
        RuntimeError: this torch lacks the exporter features (:func:`export_supported`).
        ValueError: ``opset`` < 16, a ``shape`` below 2 pixels or none for a static export.
        ExportError: the trace fails or holds for a bounded size range only, or the graph holds
            ResTv1's multi-head interaction (MHIM), which onnxruntime does not compute faithfully;
            says why.
    """
    check_export_supported()
    import onnx
    _refuse_mhim(graph)
    if opset < MIN_OPSET:
        raise ValueError(f'opset must be >= {MIN_OPSET} (RoiAlign with half-pixel coordinates), got '
                         f'{opset}')
    if shape is None and not dynamic:
        raise ValueError('shape (H, W) is required for a static export')
    shape = tuple(int(s) for s in (shape or TRACE_SHAPE))
    if len(shape) != 2 or min(shape) < 2:
        raise ValueError(f'shape must be (H, W) >= 2, got {shape}')
    start = time.perf_counter()
    x = torch.rand(2 if dynamic else 1, 3, *shape) * 255
    program = _trace(graph, x, dynamic)
    min_size = _size_range(program, shape) if dynamic else None
    translations = onnx_translations()
    try:
        onnx_program = torch.onnx.export(program, (x, ), dynamo=True, opset_version=opset,
                                         input_names=['images'], output_names=list(graph.output_names),
                                         custom_translation_table=translations, external_data=False,
                                         verbose=False)
    except Exception as e:
        raise ExportError(f'torch.onnx could not convert the traced graph: {_first_line(e)}') from e
    proto = onnx_program.model_proto
    record = dict(metadata or {}, dynamic=bool(dynamic), min_size=min_size,
                  shape=None if dynamic else list(shape), max_batch=MAX_BATCH if dynamic else 1,
                  opset=opset, limits=dict(graph.limits), outputs=list(graph.output_names))
    onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(record), **flat_limits(graph.limits)})
    atomic_write(path, proto.SerializeToString())
    return dict(seconds=time.perf_counter() - start, megabytes=proto.ByteSize() / 2 ** 20,
                min_size=min_size, shape=shape)


def load_model(config: str, checkpoint: Optional[str] = None, style: Optional[str] = None,
               cfg_options: Optional[Dict] = None):
    """A config's model to export, with a whole-model checkpoint's weights (strictly) or random.

    Args:
        config: A config file or a stock name (``mmdet::...``).
        checkpoint: A whole-model checkpoint (loaded with torch's safe loader); None: random.
        style: Rebuild a ResTv2 backbone in this fine-tuning style.
        cfg_options: Config overrides (``--cfg-options``).

    Returns:
        (cfg, scope, model in eval mode, the checkpoint's ``meta`` or None).

    Raises:
        FileNotFoundError, ValueError: from :func:`restv2_mm.apis.load_config` /
            :func:`~restv2_mm.apis.build_model`; a checkpoint whose keys do not fit.
    """
    from mmengine.runner import load_checkpoint

    from ..apis import build_model, config_scope, load_config
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = config_scope(cfg, config)
    model = build_model(cfg, style, name=config)
    meta = None
    if checkpoint:
        meta = load_checkpoint(model, checkpoint, map_location='cpu', strict=True).get('meta')
    return cfg, scope, model.eval(), meta
