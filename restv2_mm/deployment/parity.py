"""Exported file against PyTorch on the same images: the predictions of both, compared.

PyTorch runs the model as ``model.test_step`` does (data preprocessor, ``predict``) on what the
file's own test pipeline makes of each image, so that both see the same input. The criteria
(defaults) are the ones docs/deployment.md states:

- detection: one-to-one matches (same label, box IoU >= 0.99, score difference <= 1e-3); a
  detection may go unmatched only at the edge of a cut (its score within 1e-3 of the score
  threshold, or of the last kept score when ``max_per_img`` are kept), and the counts differ by at
  most one; pasted masks of matched pairs IoU >= 0.98;
- segmentation: logits within 1e-4, >= 99.9 % equal labels;
- classification: scores within 1e-4, the same top-1.
"""
from typing import Dict, List, Sequence

import numpy as np

TOLERANCES = dict(box_iou=0.99, score=1e-3, mask_iou=0.98, seg_logits=1e-4, seg_labels=0.999,
                  cls_scores=1e-4)


def pytorch_predict(model, pipeline, images: Sequence[str], batch_size: int = 1) -> list:
    """PyTorch's data samples for ``images`` through ``pipeline`` (an
    :class:`~restv2_mm.deployment.OnnxInferencer`'s), in the batches
    :meth:`OnnxInferencer.predict` makes (:func:`.inference.same_size_batches`)."""
    import torch

    from .inference import same_size_batches
    data = [pipeline(dict(img_path=image)) for image in images]
    results = []
    for batch in same_size_batches(data, batch_size):
        with torch.no_grad():
            results += model.test_step(dict(inputs=[d['inputs'] for d in batch],
                                            data_samples=[d['data_samples'] for d in batch]))
    return results


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of x1, y1, x2, y2 boxes."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    wh = np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    def area(x):
        return (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / np.maximum(area(a) + area(b) - inter, 1e-12)


def _numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def compare_detections(ref, got, limits: Dict[str, float], tol: Dict[str, float] = TOLERANCES) -> dict:
    """Match ``got``'s detections (``pred_instances`` of the file) to ``ref``'s (PyTorch's).

    Returns:
        dict: ``ok``, ``counts`` (ref, got), ``matched``, ``unmatched`` (ref, got), ``min_iou``,
        ``max_score_diff``, ``min_mask_iou`` (None without masks or matches), ``problems``.
    """
    r, g = ref.pred_instances, got.pred_instances
    rb, rs, rl = _numpy(r.bboxes), _numpy(r.scores), _numpy(r.labels)
    gb, gs, gl = _numpy(g.bboxes), _numpy(g.scores), _numpy(g.labels)
    iou = box_iou(rb, gb) if len(rb) and len(gb) else np.zeros((len(rb), len(gb)))
    pairs, taken = [], set()
    for i in np.argsort(-rs):
        fits = [j for j in range(len(gb)) if j not in taken and gl[j] == rl[i]
                and iou[i, j] >= tol['box_iou'] and abs(gs[j] - rs[i]) <= tol['score']]
        if fits:
            j = max(fits, key=lambda j: iou[i, j])
            taken.add(j)
            pairs.append((int(i), j))
    full = max(len(rs), len(gs)) >= limits['max_per_img']
    cut = min(rs.min() if len(rs) else 1., gs.min() if len(gs) else 1.) if full else limits['score_thr']
    left_ref = [int(i) for i in range(len(rs)) if i not in {p[0] for p in pairs}]
    left_got = [j for j in range(len(gs)) if j not in taken]
    problems = [f'{side} detection {k} (label {int(lab[k])}, score {s[k]:.4f}) has no match and is not '
                f'within {tol["score"]} of the cut {cut:.4f}'
                for side, left, s, lab in (('PyTorch', left_ref, rs, rl), ('ONNX', left_got, gs, gl))
                for k in left if s[k] - cut > tol['score']]
    if abs(len(rs) - len(gs)) > 1:
        problems.append(f'{len(rs)} PyTorch detections, {len(gs)} ONNX')
    result = dict(counts=(len(rs), len(gs)), matched=len(pairs), unmatched=(len(left_ref), len(left_got)),
                  min_iou=min((float(iou[i, j]) for i, j in pairs), default=None),
                  max_score_diff=max((float(abs(rs[i] - gs[j])) for i, j in pairs), default=None),
                  min_mask_iou=None)
    if 'masks' in r and 'masks' in g and pairs:
        rm, gm = _numpy(r.masks).astype(bool), _numpy(g.masks).astype(bool)
        ious = [float((rm[i] & gm[j]).sum() / max((rm[i] | gm[j]).sum(), 1)) for i, j in pairs]
        result['min_mask_iou'] = min(ious)
        problems += [f'mask IoU {v:.3f} < {tol["mask_iou"]}' for v in ious if v < tol['mask_iou']]
    return dict(result, ok=not problems, problems=problems)


def compare_segmentation(ref, got, tol: Dict[str, float] = TOLERANCES) -> dict:
    """``seg_logits`` and ``pred_sem_seg`` of the file against PyTorch's (original size).

    Returns:
        dict: ``ok``, ``max_logit_diff``, ``equal_labels`` (fraction), ``problems``.
    """
    diff = float(np.abs(_numpy(ref.seg_logits.data) - _numpy(got.seg_logits.data)).max())
    equal = float((_numpy(ref.pred_sem_seg.data) == _numpy(got.pred_sem_seg.data)).mean())
    problems = [f'logits differ by {diff:.2e} > {tol["seg_logits"]}'] * (diff > tol['seg_logits']) + \
        [f'{equal:.4%} equal labels < {tol["seg_labels"]:.1%}'] * (equal < tol['seg_labels'])
    return dict(ok=not problems, max_logit_diff=diff, equal_labels=equal, problems=problems)


def compare_classification(ref, got, tol: Dict[str, float] = TOLERANCES) -> dict:
    """``pred_score`` and ``pred_label`` of the file against PyTorch's.

    Returns:
        dict: ``ok``, ``max_score_diff``, ``same_top1``, ``problems``.
    """
    diff = float(np.abs(_numpy(ref.pred_score) - _numpy(got.pred_score)).max())
    same = int(_numpy(ref.pred_label)[0]) == int(_numpy(got.pred_label)[0])
    problems = [f'scores differ by {diff:.2e} > {tol["cls_scores"]}'] * (diff > tol['cls_scores']) + \
        ['different top-1'] * (not same)
    return dict(ok=not problems, max_score_diff=diff, same_top1=same, problems=problems)


def compare(task: str, refs: list, gots: list, limits: Dict[str, float]) -> List[dict]:
    """One comparison per image pair, by task (see the functions above)."""
    if task in ('detection', 'instance_segmentation'):
        return [compare_detections(r, g, limits) for r, g in zip(refs, gots)]
    fn = compare_segmentation if task == 'semantic_segmentation' else compare_classification
    return [fn(r, g) for r, g in zip(refs, gots)]
