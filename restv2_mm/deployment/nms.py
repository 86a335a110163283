"""Non-maximum suppression as a keep mask of fixed shape, exported as ONNX ``NonMaxSuppression``.

A detector's post-processing is traced with fixed top-k sizes (the style of mmyolo's
``projects/easydeploy``): NMS marks the boxes it keeps instead of returning their indices, so no
shape after it depends on the data and ``torch.export`` needs no data-dependent sizes. In the ONNX
file the mask is the standard ``NonMaxSuppression`` (per batch entry and class, ``center_point_box
= 0``) scattered into zeros (``ScatterND``); no custom domain.
"""
import functools
from typing import Callable, Dict

import torch

_OP = 'restv2_deploy::nms_keep'


def nms_keep_reference(boxes: torch.Tensor, scores: torch.Tensor,
                       iou_threshold: float) -> torch.Tensor:
    """Greedy NMS per batch entry and class, as ONNX ``NonMaxSuppression`` and mmcv's ``nms``
    compute it (a box is dropped when its IoU with a kept, higher-scoring box is
    ``> iou_threshold``; IoU without the +1 pixel offset).

    Args:
        boxes: (B, N, 4) boxes (x1, y1, x2, y2), shared by the classes.
        scores: (B, C, N) scores; a negative score marks a box that is no candidate in that
            class (it is neither kept nor suppresses others).
        iou_threshold: IoU above which the lower-scoring box is dropped.

    Returns:
        (B, C, N) bool: True where the box is kept in that class.
    """
    from torchvision.ops import nms
    keep = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            candidates = (scores[b, c] >= 0).nonzero().squeeze(1)
            kept = nms(boxes[b, candidates].float(), scores[b, c, candidates].float(), iou_threshold)
            keep[b, c, candidates[kept]] = True
    return keep


@functools.lru_cache(maxsize=None)
def _custom_op():
    """The torch operator ``restv2_deploy::nms_keep`` (torch >= 2.4: ``torch.library.custom_op``),
    registered on first use so that importing this module works on every supported torch."""
    op = torch.library.custom_op(_OP, mutates_args=())(_nms_keep_op)
    op.register_fake(lambda boxes, scores, iou_threshold: torch.empty_like(scores, dtype=torch.bool))
    return op


def _nms_keep_op(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return nms_keep_reference(boxes, scores, iou_threshold)


def nms_keep(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """:func:`nms_keep_reference` as one operator that ``torch.export`` keeps whole (and
    :func:`onnx_translations` turns into ``NonMaxSuppression``); on a torch without
    ``torch.library.custom_op`` (< 2.4) the reference itself.

    Shape:
        boxes (B, N, 4), scores (B, C, N) -> keep (B, C, N) bool.
    """
    if not hasattr(torch.library, 'custom_op'):
        return nms_keep_reference(boxes, scores, iou_threshold)
    return _custom_op()(boxes, scores, float(iou_threshold))


def _nms_keep_onnx(boxes, scores, iou_threshold: float):
    """ONNX of ``nms_keep``: NonMaxSuppression (candidates: score > -0.5, i.e. the non-negative
    ones), its selected (batch, class, box) triples scattered as ones into zeros of the scores'
    shape."""
    import onnx
    from onnxscript import opset18 as op

    def const(dtype, value):
        return onnx.helper.make_tensor('value', dtype, [1], [value])

    selected = op.NonMaxSuppression(boxes, scores, op.Constant(value_ints=[2 ** 62]),
                                    op.Constant(value_floats=[iou_threshold]),
                                    op.Constant(value_floats=[-0.5]), center_point_box=0)
    zeros = op.ConstantOfShape(op.Shape(scores), value=const(onnx.TensorProto.UINT8, 0))
    ones = op.ConstantOfShape(op.Slice(op.Shape(selected), [0], [1]),
                              value=const(onnx.TensorProto.UINT8, 1))
    return op.Cast(op.ScatterND(zeros, selected, ones), to=onnx.TensorProto.BOOL)


def onnx_translations() -> Dict[Callable, Callable]:
    """``custom_translation_table`` for ``torch.onnx.export(dynamo=True)``: our operators to
    standard ONNX. (torchvision's ``roi_align`` needs none: onnxscript translates it to
    ``RoiAlign``.)"""
    _custom_op()
    return {getattr(torch.ops.restv2_deploy, 'nms_keep').default: _nms_keep_onnx}
