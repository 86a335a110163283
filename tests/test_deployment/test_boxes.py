"""The fixed-size post-processing selects what mmdet selects: its ``multiclass_nms`` (class-specific
boxes, score threshold, per-class NMS, top ``max_num``) and ``batched_nms`` over shared boxes by
group (the RPN's levels), on random boxes; and the NMS keep mask is mmcv's NMS per class."""
import pytest
import torch

from restv2_mm.deployment import nms_keep_reference
from restv2_mm.deployment.boxes import NO_SCORE, multiclass_nms

pytestmark = pytest.mark.mmcv_ops


def random_boxes(n, scale=100.):
    xy = torch.rand(n, 2) * scale
    return torch.cat([xy, xy + torch.rand(n, 2) * scale / 2 + 1], 1)


def test_class_specific_boxes_as_mmdet_multiclass_nms():
    from mmdet.models.layers import multiclass_nms as mmdet_nms
    rois, classes = 300, 5
    boxes = random_boxes(rois * classes).view(rois, classes * 4)
    scores = (torch.randn(rois, classes + 1) * 2).softmax(-1)
    want_dets, want_labels = mmdet_nms(boxes, scores, 0.05, dict(type='nms', iou_threshold=0.5), 100)
    per_class = boxes.view(1, rois, classes, 4).transpose(1, 2)
    s = scores[None, :, :-1].transpose(1, 2)
    got_boxes, got_scores, got_labels, valid = multiclass_nms(
        per_class, torch.where(s > 0.05, s, NO_SCORE), 0.5, 100)
    n = int(valid.sum())
    assert n == len(want_dets) == 100  # enough candidates to fill the top 100
    torch.testing.assert_close(got_boxes[0, :n], want_dets[:, :4], rtol=0, atol=0)
    torch.testing.assert_close(got_scores[0, :n], want_dets[:, 4], rtol=0, atol=0)
    assert torch.equal(got_labels[0, :n], want_labels)


def test_shared_boxes_as_mmcv_batched_nms_by_level():
    from mmcv.ops import batched_nms
    boxes, scores, levels = random_boxes(400), torch.rand(400), torch.randint(0, 4, (400, ))
    dets, keep = batched_nms(boxes, scores, levels, dict(type='nms', iou_threshold=0.7))
    per_level = torch.where(levels[None, None] == torch.arange(4)[None, :, None], scores, NO_SCORE)
    got_boxes, got_scores, _, valid = multiclass_nms(boxes[None], per_level, 0.7, 150)
    n = int(valid.sum())
    assert n == min(150, len(keep)) and len(keep) < 400  # NMS dropped some, the top 150 kept
    torch.testing.assert_close(got_boxes[0, :n], boxes[keep[:n]], rtol=0, atol=0)
    torch.testing.assert_close(got_scores[0, :n], dets[:n, 4], rtol=0, atol=0)
    assert not valid[0, n:].any() and (got_scores[0, n:] == 0).all()


def test_keep_mask_is_mmcv_nms_per_class():
    from mmcv.ops import nms
    boxes, scores = random_boxes(200)[None].repeat(2, 1, 1), torch.rand(2, 3, 200)
    scores[1, 2, 50:] = NO_SCORE  # no candidates: neither kept nor suppressing
    keep = nms_keep_reference(boxes, scores, 0.5)
    for b in range(2):
        for c in range(3):
            candidates = (scores[b, c] >= 0).nonzero().squeeze(1)
            _, kept = nms(boxes[b, candidates], scores[b, c, candidates], 0.5)
            assert set(candidates[kept].tolist()) == set(keep[b, c].nonzero().squeeze(1).tolist())


@pytest.mark.slow
def test_keep_mask_in_onnx_is_the_reference(tmp_path):
    """The operator's ONNX form (NonMaxSuppression, ScatterND) keeps what the reference keeps,
    for any batch, classes and number of boxes (dynamic)."""
    import onnxruntime as ort

    from restv2_mm.deployment import nms_keep
    from restv2_mm.deployment.export import check_export_supported
    from restv2_mm.deployment.nms import onnx_translations
    check_export_supported()

    class Keep(torch.nn.Module):
        def forward(self, boxes, scores):
            return nms_keep(boxes, scores, 0.5)

    dims = (torch.export.Dim('b', min=1, max=8), torch.export.Dim('n', min=2, max=10 ** 5))
    args = (random_boxes(50)[None].repeat(2, 1, 1), torch.rand(2, 3, 50))
    program = torch.export.export(Keep(), args, strict=False,
                                  dynamic_shapes=({0: dims[0], 1: dims[1]}, {0: dims[0], 2: dims[1]}))
    torch.onnx.export(program, args, dynamo=True, external_data=False, opset_version=18,
                      custom_translation_table=onnx_translations()).save(str(tmp_path / 'nms.onnx'))
    session = ort.InferenceSession(str(tmp_path / 'nms.onnx'), providers=['CPUExecutionProvider'])
    for batch, num in ((1, 7), (3, 500)):
        boxes, scores = random_boxes(batch * num).view(batch, num, 4), torch.rand(batch, 3, num)
        scores[:, 1, ::3] = NO_SCORE
        got = session.run(None, {'boxes': boxes.numpy(), 'scores': scores.numpy()})[0]
        assert (got == nms_keep_reference(boxes, scores, 0.5).numpy()).all() and 0 < got.sum() < got.size
