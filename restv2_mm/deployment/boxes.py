"""The detectors' post-processing with fixed sizes: per-level top-k, box decoding, NMS and the final
top-k, batched, so that no shape depends on the data (mmyolo ``projects/easydeploy`` style).

mmdet selects candidates with data-dependent shapes (``scores[scores > thr]``, ``nonzero``); here
a candidate that mmdet would drop keeps its slot with the score -1 ("no candidate"), which NMS
ignores (:func:`restv2_mm.deployment.nms.nms_keep`) and the final top-k puts last. The selected
rows are the ones mmdet selects, in the same order (scores descending), up to ties.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .nms import nms_keep

NO_SCORE = -1.


def flatten_level(x: torch.Tensor, channels: int) -> torch.Tensor:
    """A head's (B, A * channels, h, w) map as (B, h * w * A, channels), in mmdet's order
    (``permute(1, 2, 0).reshape(-1, channels)`` per image)."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, channels)


def gather_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``x[b, index[b]]`` for each batch entry b. Shape: x (B, N, ...), index (B, K) -> (B, K, ...)."""
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    out = torch.gather(flat, 1, index[..., None].expand(-1, -1, flat.shape[-1]))
    return out.reshape(*index.shape, *x.shape[2:])


def level_topk(scores: torch.Tensor, nms_pre: int,
               score_thr: Optional[float] = None) -> Tuple[torch.Tensor, ...]:
    """One level's best ``nms_pre`` (anchor, class) pairs, as mmdet's RPN head (``sort`` then
    ``[:nms_pre]``) and ``filter_scores_and_topk`` (RetinaNet: ``scores > score_thr`` first).

    The scores are padded with ``nms_pre`` non-candidates first, so that the top-k has the fixed
    size ``nms_pre`` at every input size (a level with fewer pairs fills it with non-candidates):
    every shape after it is static, which keeps the traced graph small.

    Args:
        scores: (B, n, C) scores per anchor and class.
        nms_pre: How many to keep (<= 0: all, a size that follows the input).
        score_thr: Pairs with a score ``<= score_thr`` are no candidates (None: all are).

    Returns:
        (scores (B, k), anchor index (B, k), label (B, k)), k = ``nms_pre`` (or n * C); a pair
        that is no candidate has the score -1 and an anchor index in ``[n, n + k)`` (see
        :func:`pad_rows`).
    """
    num_classes = scores.shape[-1]
    flat = scores.flatten(1)
    if score_thr is not None:
        flat = torch.where(flat > score_thr, flat, NO_SCORE)
    if nms_pre > 0:
        flat = F.pad(flat, (0, nms_pre * num_classes), value=NO_SCORE)
    top, index = flat.topk(nms_pre if nms_pre > 0 else flat.shape[1], dim=1)
    return top, index // num_classes, index % num_classes


def pad_rows(x: torch.Tensor, rows: int) -> torch.Tensor:
    """``x`` (B, n, ...) or (n, ...) with ``rows`` zero rows appended along n, so that the anchor
    indices :func:`level_topk` gives its padding stay in range."""
    dim = 1 if x.dim() == 3 else 0
    pad = [0, 0] * (x.dim() - dim - 1) + [0, rows]
    return F.pad(x, pad)


def drop_small(boxes: torch.Tensor, scores: torch.Tensor, min_size: float) -> torch.Tensor:
    """``scores`` with -1 where a box is not wider and taller than ``min_size`` (mmdet's
    ``min_bbox_size``; < 0: no filter). Shape: boxes (..., 4), scores (...)."""
    if min_size < 0:
        return scores
    wide = (boxes[..., 2] - boxes[..., 0] > min_size) & (boxes[..., 3] - boxes[..., 1] > min_size)
    return torch.where(wide, scores, NO_SCORE)


def multiclass_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float,
                   max_num: int) -> Tuple[torch.Tensor, ...]:
    """NMS per image and class, then the ``max_num`` best kept boxes of each image (mmdet's
    ``batched_nms`` and ``[:max_per_img]``).

    Args:
        boxes: (B, N, 4) boxes shared by the classes, or (B, C, N, 4) a box per class.
        scores: (B, C, N); negative: no candidate.
        iou_threshold: NMS IoU threshold.
        max_num: Boxes kept per image.

    Returns:
        (boxes (B, k, 4), scores (B, k), labels (B, k) int64, valid (B, k) bool), best first;
        k = min(max_num, N) for shared boxes, min(max_num, C * N) per class. Rows past the kept
        boxes have valid False, score 0, label -1 and a zero box.
    """
    batch, num_classes, num = scores.shape
    per_class = boxes.dim() == 4
    if per_class:
        keep = nms_keep(boxes.flatten(0, 1), scores.flatten(0, 1)[:, None], iou_threshold)
        keep = keep.view(batch, num_classes, num)
    else:
        keep = nms_keep(boxes, scores, iou_threshold)
    kept = torch.where(keep, scores, NO_SCORE).flatten(1)
    k = torch.sym_min(max_num, kept.shape[1] if per_class else num)
    top, index = kept.topk(k, dim=1)
    valid = top >= 0
    # Class and box of each flat (class, box) index by lookup: the exporter has no ONNX form for
    # a remainder by a symbolic size.
    grid = torch.ones_like(scores[0], dtype=torch.long)
    classes = (grid.cumsum(0) - 1).flatten()
    labels = torch.where(valid, classes[index], -1)
    if not per_class:
        index = (grid.cumsum(1) - 1).flatten()[index]
    picked = gather_rows(boxes.flatten(1, 2) if per_class else boxes, index)
    picked = torch.where(valid[..., None], picked, 0.)
    return picked, torch.where(valid, top, 0.), labels, valid


def to_rois(boxes: torch.Tensor) -> torch.Tensor:
    """(B, K, 4) boxes as (B * K, 5) RoIs (batch index, x1, y1, x2, y2): mmdet's ``bbox2roi``."""
    index = torch.arange(boxes.shape[0], dtype=boxes.dtype, device=boxes.device)
    index = index[:, None, None].expand(-1, boxes.shape[1], 1)
    return torch.cat([index, boxes], dim=-1).flatten(0, 1)


def decode(coder, priors: torch.Tensor, deltas: torch.Tensor, img_shape: Sequence) -> torch.Tensor:
    """``coder.decode`` (mmdet) on (..., 4) priors and deltas, clipped to ``img_shape`` (H, W),
    as a plain tensor of the same shape."""
    from mmdet.structures.bbox import get_box_tensor
    out = coder.decode(priors.reshape(-1, 4), deltas.reshape(-1, deltas.shape[-1]), max_shape=img_shape)
    return get_box_tensor(out).reshape(*deltas.shape[:-1], 4)


def check_nms_cfg(cfg, name: str) -> float:
    """The IoU threshold of an mmdet ``nms`` config.

    Raises:
        ValueError: another NMS type (soft NMS has no standard ONNX operator).
    """
    nms = cfg.get('nms') or {}
    if nms.get('type', 'nms') != 'nms':
        raise ValueError(f'{name}.nms.type={nms.get("type")!r}: only greedy NMS (type=\'nms\') '
                         f'exports to ONNX NonMaxSuppression')
    return float(nms['iou_threshold'])
