"""mmdet detectors as exportable graphs, post-processing included: single-stage (RetinaNet) and
two-stage (Mask R-CNN, Cascade (Mask) R-CNN).

Each graph runs the model's own modules (backbone, neck, heads, box coders, RoI level mapping) and
replaces only what does not export: the data-dependent selections (:mod:`.boxes`), mmcv's NMS
(:mod:`.nms`) and RoIAlign (:mod:`.roi`). The limits (score threshold, top-k before and after NMS,
IoU thresholds) are the config's ``test_cfg``, fixed in the graph and listed in ``limits``.

Outputs (all images of a batch have the input's size H x W; boxes in its pixels, before
``scale_factor``):

- ``num_dets`` (B,) int64: detections per image (at most ``max_per_img``);
- ``boxes`` (B, K, 4) float32 x1, y1, x2, y2, clipped to (H, W); ``scores`` (B, K); ``labels``
  (B, K) int64; rows past ``num_dets`` have score 0, label -1, a zero box;
- with a mask head, ``masks`` (B, K, M, M) float32: each detection's mask probabilities in its box
  (M = 28 for FCNMaskHead), to be pasted into the image
  (:func:`restv2_mm.deployment.paste_masks`, mmdet's ``_do_paste_mask``).
"""
import copy
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .boxes import (
    NO_SCORE,
    check_nms_cfg,
    decode,
    drop_small,
    flatten_level,
    gather_rows,
    level_topk,
    multiclass_nms,
    pad_rows,
    to_rois,
)
from .preprocess import Preprocess
from .roi import MultiLevelRoIAlign

DET_OUTPUTS = ('num_dets', 'boxes', 'scores', 'labels')


def _head_scores(head, cls_score: torch.Tensor) -> torch.Tensor:
    """(B, n, C) class scores of a dense head's level map: sigmoid, or softmax without the
    background column (mmdet ``use_sigmoid_cls``)."""
    scores = flatten_level(cls_score, head.cls_out_channels)
    return scores.sigmoid() if head.use_sigmoid_cls else scores.softmax(-1)[..., :-1]


def _priors(head, maps: List[torch.Tensor]) -> List[torch.Tensor]:
    return head.prior_generator.grid_priors([m.shape[-2:] for m in maps], dtype=maps[0].dtype,
                                            device=maps[0].device)


class _DetectorGraph(nn.Module):
    """What both detector graphs share: a copy of the model in eval mode, the preprocessing."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        self.preprocess = Preprocess.from_data_preprocessor(self.model.data_preprocessor)
        self.limits: Dict[str, float] = {}

    def features(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.model.extract_feat(self.preprocess(images))

    @staticmethod
    def _rows(head, bbox_pred: torch.Tensor, priors: torch.Tensor, anchor: torch.Tensor,
              nms_pre: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The box deltas (B, k, 4) and priors (B, k, 4) of the anchors :func:`level_topk`
        picked (its padding picks zero rows)."""
        deltas = flatten_level(bbox_pred, head.bbox_coder.encode_size)
        if nms_pre > 0:
            deltas, priors = pad_rows(deltas, nms_pre), pad_rows(priors, nms_pre)
        return gather_rows(deltas, anchor), priors[anchor]


class SingleStageDetectorGraph(_DetectorGraph):
    """An mmdet single-stage anchor detector (``bbox_head`` an ``AnchorHead``, e.g. RetinaNet)
    with mmdet's test-time selection: per level the ``nms_pre`` best (anchor, class) pairs above
    ``score_thr``, decoded and clipped, boxes not larger than ``min_bbox_size`` dropped, NMS per
    class, the ``max_per_img`` best (``BaseDenseHead._predict_by_feat_single`` and
    ``_bbox_post_process``).

    Shape:
        images (B, 3, H, W) float32 0-255 -> ``num_dets``, ``boxes``, ``scores``, ``labels``.
    """
    output_names = DET_OUTPUTS

    def __init__(self, model: nn.Module):
        super().__init__(model)
        head = self.model.bbox_head
        cfg = head.test_cfg
        if getattr(head, 'with_score_factors', False):
            raise ValueError(f'{type(head).__name__}: heads with score factors (centerness) are '
                             f'not exported')
        self.limits = dict(nms_pre=int(cfg.get('nms_pre', -1)), score_thr=float(cfg.get('score_thr', 0)),
                           min_bbox_size=float(cfg.get('min_bbox_size', -1)),
                           iou_threshold=check_nms_cfg(cfg, 'test_cfg'),
                           max_per_img=int(cfg['max_per_img']))

    def forward(self, images: torch.Tensor):
        img_shape = images.shape[-2:]
        head, lim = self.model.bbox_head, self.limits
        cls_scores, bbox_preds = head(self.features(images))
        boxes, scores, labels = [], [], []
        for cls_score, bbox_pred, priors in zip(cls_scores, bbox_preds, _priors(head, cls_scores)):
            top, anchor, label = level_topk(_head_scores(head, cls_score), lim['nms_pre'],
                                            lim['score_thr'])
            deltas, priors = self._rows(head, bbox_pred, priors, anchor, lim['nms_pre'])
            boxes.append(decode(head.bbox_coder, priors, deltas, img_shape))
            scores.append(top)
            labels.append(label)
        boxes, scores, labels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(labels, 1)
        scores = drop_small(boxes, scores, lim['min_bbox_size'])
        classes = torch.arange(head.num_classes, device=labels.device)
        per_class = torch.where(labels[:, None] == classes[None, :, None], scores[:, None], NO_SCORE)
        boxes, scores, labels, valid = multiclass_nms(boxes, per_class, lim['iou_threshold'],
                                                      lim['max_per_img'])
        return valid.sum(1), boxes, scores, labels


class TwoStageDetectorGraph(_DetectorGraph):
    """An mmdet two-stage detector: RPN proposals, then a standard or cascade RoI head, with an
    optional mask head (Faster / Mask R-CNN, Cascade (Mask) R-CNN).

    RPN: per level the ``nms_pre`` best anchors, decoded, clipped, small boxes dropped, NMS per
    level, the ``max_per_img`` best as proposals (``RPNHead``). RoI head: the proposals' features
    (:class:`MultiLevelRoIAlign`), class scores and box deltas (cascade: each stage refines the
    boxes by its argmax class; the class scores are the stages' mean, ``CascadeRoIHead``), scores
    above ``score_thr``, NMS per class, the ``max_per_img`` best (``multiclass_nms``). Masks: the
    mask head on those boxes, sigmoid, the detected class's channel (cascade: the stages' mean).
    Padding proposals (fewer than ``max_per_img`` kept by the RPN) run through the heads but
    never become detections.

    Shape:
        images (B, 3, H, W) float32 0-255 -> ``num_dets``, ``boxes``, ``scores``, ``labels``
        [, ``masks``].
    """

    def __init__(self, model: nn.Module):
        super().__init__(model)
        rpn, rcnn = self.model.rpn_head.test_cfg, self.model.roi_head.test_cfg
        roi_head = self.model.roi_head
        self.cascade = hasattr(roi_head, 'num_stages')
        self.with_mask = bool(roi_head.with_mask)
        self.output_names = DET_OUTPUTS + (('masks', ) if self.with_mask else ())
        for name, child in list(roi_head.named_modules()):
            if type(child).__name__ == 'SingleRoIExtractor':
                parent, _, attr = name.rpartition('.')
                setattr(roi_head.get_submodule(parent) if parent else roi_head, attr,
                        MultiLevelRoIAlign(child))
        self.limits = dict(rpn_nms_pre=int(rpn.get('nms_pre', -1)),
                           rpn_min_bbox_size=float(rpn.get('min_bbox_size', -1)),
                           rpn_iou_threshold=check_nms_cfg(rpn, 'test_cfg.rpn'),
                           rpn_max_per_img=int(rpn['max_per_img']),
                           score_thr=float(rcnn.get('score_thr', 0)),
                           iou_threshold=check_nms_cfg(rcnn, 'test_cfg.rcnn'),
                           max_per_img=int(rcnn['max_per_img']))
        if self.with_mask:
            self.limits['mask_thr_binary'] = float(rcnn.get('mask_thr_binary', 0.5))

    def proposals(self, feats, img_shape) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, R, 4) proposals, best first, and (B, R) whether each is one (R = min(
        ``max_per_img``, anchors kept before NMS))."""
        head, lim = self.model.rpn_head, self.limits
        cls_scores, bbox_preds = head(feats)
        boxes, scores, levels = [], [], []
        for level, (cls_score, bbox_pred, priors) in enumerate(
                zip(cls_scores, bbox_preds, _priors(head, cls_scores))):
            top, anchor, _ = level_topk(_head_scores(head, cls_score)[..., :1], lim['rpn_nms_pre'])
            deltas, priors = self._rows(head, bbox_pred, priors, anchor, lim['rpn_nms_pre'])
            boxes.append(decode(head.bbox_coder, priors, deltas, img_shape))
            scores.append(top)
            levels.append(torch.full_like(anchor, level))
        boxes, scores, levels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(levels, 1)
        scores = drop_small(boxes, scores, lim['rpn_min_bbox_size'])
        per_level = torch.arange(len(cls_scores), device=levels.device)
        per_level = torch.where(levels[:, None] == per_level[None, :, None], scores[:, None], NO_SCORE)
        boxes, _, _, valid = multiclass_nms(boxes, per_level, lim['rpn_iou_threshold'],
                                            lim['rpn_max_per_img'])
        return boxes, valid

    def classify(self, feats, rois: torch.Tensor, img_shape) -> Tuple[torch.Tensor, ...]:
        """(class logits (K, C + 1), box deltas, the RoIs they refer to) of the RoI head's last
        bbox head; a cascade refines ``rois`` stage by stage (``CascadeRoIHead._refine_roi``)."""
        from mmdet.structures.bbox import get_box_tensor
        roi_head = self.model.roi_head
        if not self.cascade:
            out = roi_head._bbox_forward(feats, rois)
            return out['cls_score'], out['bbox_pred'], rois
        stage_scores = []
        for stage in range(roi_head.num_stages):
            out = roi_head._bbox_forward(stage, feats, rois)
            stage_scores.append(out['cls_score'])
            if stage < roi_head.num_stages - 1:
                head = roi_head.bbox_head[stage]
                scores = out['cls_score']
                if head.custom_activation:
                    scores = head.loss_cls.get_activation(scores)
                refined = head.regress_by_class(rois[:, 1:], scores[:, :-1].argmax(dim=1),
                                                out['bbox_pred'], dict(img_shape=img_shape))
                rois = torch.cat([rois[:, :1], get_box_tensor(refined)], dim=1)
        return sum(stage_scores) / float(len(stage_scores)), out['bbox_pred'], rois

    def masks(self, feats, boxes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, K, M, M) mask probabilities of the detected class in each box."""
        roi_head = self.model.roi_head
        rois = to_rois(boxes)
        if self.cascade:
            probs = torch.stack([roi_head._mask_forward(stage, feats, rois)['mask_preds'].sigmoid()
                                 for stage in range(roi_head.num_stages)]).mean(0)
            head = roi_head.mask_head[-1]
        else:
            probs = roi_head._mask_forward(feats, rois)['mask_preds'].sigmoid()
            head = roi_head.mask_head
        if not head.class_agnostic:
            index = labels.clamp(min=0).reshape(-1, 1, 1, 1).expand(-1, 1, *probs.shape[-2:])
            probs = probs.gather(1, index)
        return probs.reshape(*boxes.shape[:2], *probs.shape[-2:])

    def forward(self, images: torch.Tensor):
        img_shape = images.shape[-2:]
        lim = self.limits
        feats = self.features(images)
        proposals, proposed = self.proposals(feats, img_shape)
        batch, num = proposed.shape
        cls_score, bbox_pred, rois = self.classify(feats, to_rois(proposals), img_shape)
        head = self.model.roi_head.bbox_head[-1] if self.cascade else self.model.roi_head.bbox_head
        if head.custom_cls_channels:
            scores = head.loss_cls.get_activation(cls_score)
        else:
            scores = F.softmax(cls_score, dim=-1)
        scores = scores[:, :-1].reshape(batch, num, -1)
        per_class = 1 if head.reg_class_agnostic else head.num_classes
        boxes = decode(head.bbox_coder, rois[:, None, 1:].expand(-1, per_class, -1),
                       bbox_pred.reshape(-1, per_class, head.bbox_coder.encode_size), img_shape)
        boxes = boxes.reshape(batch, num, per_class, 4).transpose(1, 2)
        boxes = boxes[:, 0] if per_class == 1 else boxes
        candidate = proposed[..., None] & (scores > lim['score_thr'])
        scores = torch.where(candidate, scores, NO_SCORE).transpose(1, 2)
        boxes, scores, labels, valid = multiclass_nms(boxes, scores, lim['iou_threshold'],
                                                      lim['max_per_img'])
        outputs = (valid.sum(1), boxes, scores, labels)
        return outputs + (self.masks(feats, boxes, labels), ) if self.with_mask else outputs
