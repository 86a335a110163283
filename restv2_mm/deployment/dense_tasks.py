"""mmseg segmentors and mmpretrain classifiers (and a bare backbone) as exportable graphs.

- Segmentation (``EncoderDecoder``, ``test_cfg.mode='whole'``): preprocessing, backbone, neck,
  decode head, the logits resized (bilinear) to the padded input and cropped to the input, as
  mmseg's ``predict_by_feat`` and ``postprocess_result`` do before the resize to the original
  image. Adaptive pooling larger than 1x1 (UPerHead's pyramid pooling) is made exact at every
  size (:mod:`.pooling`), and mmseg's integer ``Upsample`` keeps the size symbolic
  (:mod:`.upsample`). Output ``seg_logits`` (B, classes, H, W).
- Classification (``ImageClassifier``): preprocessing, backbone, neck, head. Output ``logits``
  (B, classes), before softmax.
- Backbone: the normalised (B, 3, H, W) batch in, the tuple of (B, C_i, H_i, W_i) maps out.
"""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from .pooling import exact_pooling
from .preprocess import Preprocess
from .upsample import symbolic_upsampling


class SegmentorGraph(nn.Module):
    """An mmseg ``EncoderDecoder`` with whole-image inference, exportable at any size.

    Shape:
        images (B, 3, H, W) float32 0-255 -> seg_logits (B, classes, H, W).

    Raises:
        ValueError: another segmentor class or ``test_cfg.mode`` than 'whole' (sliding windows
            are not exported), or a preprocessor :class:`Preprocess` refuses.
    """
    output_names = ('seg_logits', )

    def __init__(self, model: nn.Module):
        super().__init__()
        if type(model).__name__ != 'EncoderDecoder':
            raise ValueError(f'segmentor {type(model).__name__}: only EncoderDecoder is exported')
        mode = (model.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(f"test_cfg.mode={mode!r}: only whole-image inference ('whole') is "
                             f"exported")
        self.model = symbolic_upsampling(exact_pooling(copy.deepcopy(model).eval()))
        self.preprocess = Preprocess.from_data_preprocessor(self.model.data_preprocessor)
        self.limits = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.preprocess(images)
        head = self.model.decode_head
        logits = head(self.model.extract_feat(x))
        logits = F.interpolate(logits, size=x.shape[-2:], mode='bilinear',
                               align_corners=head.align_corners)
        return logits[..., :images.shape[-2], :images.shape[-1]]


class ClassifierGraph(nn.Module):
    """An mmpretrain ``ImageClassifier``'s logits (``mode='tensor'``).

    Shape:
        images (B, 3, H, W) float32 0-255 -> logits (B, classes).
    """
    output_names = ('logits', )

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = exact_pooling(copy.deepcopy(model).eval())
        self.preprocess = Preprocess.from_data_preprocessor(self.model.data_preprocessor)
        self.limits = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.preprocess(images), mode='tensor')


class BackboneGraph(nn.Module):
    """A backbone's multi-scale maps, for a deployment that runs its own heads.

    Shape:
        x (B, 3, H, W) normalised -> tuple of (B, C_i, H_i, W_i).
    """

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = exact_pooling(copy.deepcopy(backbone).eval())
        self.limits = {}

    @property
    def output_names(self):
        return tuple(f'out{i}' for i in self.backbone.out_indices)

    def forward(self, x: torch.Tensor):
        return tuple(self.backbone(x))
