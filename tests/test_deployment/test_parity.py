"""The comparison's criteria (docs/deployment.md) accept what they should and nothing else: equal
predictions pass; a detection lost above the cut, another label, a shifted box, a wrong score or
mask fail; one lost at the edge of the score threshold or of a full top-k passes."""
import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData

from restv2_mm.deployment import compare_detections
from restv2_mm.deployment.parity import compare_classification, compare_segmentation

LIMITS = dict(score_thr=0.05, max_per_img=100)


class Sample:  # what compare_* read: a data sample's prediction fields
    def __init__(self, **fields):
        self.__dict__.update(fields)


def detections(boxes, scores, labels, masks=None):
    inst = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                        scores=torch.tensor(scores, dtype=torch.float32), labels=torch.tensor(labels))
    if masks is not None:
        inst.masks = torch.tensor(masks)
    return Sample(pred_instances=inst)


BOXES = [[0, 0, 10, 10], [20, 20, 40, 50], [5, 5, 30, 30]]


def test_detections():
    ref = detections(BOXES, [0.9, 0.5, 0.0505], [1, 2, 3])
    assert compare_detections(ref, detections(BOXES, [0.9004, 0.5, 0.0505], [1, 2, 3]), LIMITS)['ok']
    edge = compare_detections(ref, detections(BOXES[:2], [0.9, 0.5], [1, 2]), LIMITS)  # 0.0505: at the cut
    assert edge['ok'] and edge['unmatched'] == (1, 0)
    for got in (detections(BOXES[1:], [0.5, 0.0505], [2, 3]),  # the 0.9 one lost
                detections(BOXES, [0.9, 0.5, 0.0505], [1, 4, 3]),  # another label
                detections([[0, 0, 10, 11]] + BOXES[1:], [0.9, 0.5, 0.0505], [1, 2, 3]),  # IoU 0.91
                detections(BOXES, [0.8, 0.5, 0.0505], [1, 2, 3])):  # score off by 0.1
        assert not compare_detections(ref, got, LIMITS)['ok']


def test_full_top_k_cut_and_masks():
    scores = np.linspace(0.9, 0.3, 100)
    boxes = [[i, i, i + 10, i + 10] for i in range(100)]
    ref = detections(boxes, scores, [0] * 100)
    # The file keeps another 100th box, of nearly the same score: an edge case, not an error.
    got = detections(boxes[:99] + [[500, 500, 510, 510]], list(scores[:99]) + [scores[-1] + 1e-4],
                     [0] * 100)
    assert compare_detections(ref, got, LIMITS)['ok']
    mask = np.zeros((3, 20, 20), bool)
    mask[:, 2:12, 2:12] = True
    ref = detections(BOXES, [0.9, 0.5, 0.3], [1, 2, 3], mask)
    shifted = mask.copy()
    shifted[0] = np.roll(mask[0], 1, axis=0)  # IoU 0.82
    assert compare_detections(ref, detections(BOXES, [0.9, 0.5, 0.3], [1, 2, 3], mask), LIMITS)['ok']
    assert not compare_detections(ref, detections(BOXES, [0.9, 0.5, 0.3], [1, 2, 3], shifted), LIMITS)['ok']


def test_segmentation_and_classification():
    logits = torch.randn(4, 30, 40)

    def seg(x):
        return Sample(seg_logits=PixelData(data=x), pred_sem_seg=PixelData(data=x.argmax(0, keepdim=True)))
    assert compare_segmentation(seg(logits), seg(logits + 5e-5))['ok']
    assert not compare_segmentation(seg(logits), seg(logits + 2e-4))['ok']
    flipped = logits.clone()
    flipped[:, :5] = -flipped[:, :5]  # within 1e-4 nowhere, labels differ on an eighth
    assert not compare_segmentation(seg(logits), seg(flipped))['ok']
    scores = torch.softmax(torch.randn(10), 0)
    top, other = scores.argmax()[None], (scores.argmax()[None] + 1) % 10
    cls = Sample(pred_score=scores, pred_label=top)
    assert compare_classification(cls, Sample(pred_score=scores + 5e-5, pred_label=top))['ok']
    assert not compare_classification(cls, Sample(pred_score=scores, pred_label=other))['ok']
