"""mmdet's multi-level RoI extractor in a form ``torch.export`` and ONNX take.

mmdet's ``SingleRoIExtractor`` maps each RoI to an FPN level by its scale and runs mmcv's
``RoIAlign`` (a C++ extension call, no ONNX form) on the RoIs of each level, skipping empty
levels with a Python branch on the data. Here the same mapping (the extractor's own
``map_roi_levels``) selects each level's RoIs, torchvision's ``roi_align`` (the same algorithm:
Detectron's RoIAlign, ``aligned`` = half-pixel) pools them, and the results are put back in RoI
order; an empty level is an empty selection, not a branch. In ONNX: ``NonZero``, ``Gather``,
``RoiAlign`` (opset >= 16, ``coordinate_transformation_mode='half_pixel'``), ``ScatterND``.
"""
from typing import Sequence

import torch
from torch import nn


class MultiLevelRoIAlign(nn.Module):
    """The RoI features of a ``SingleRoIExtractor`` (mmdet), exportable.

    Args:
        extractor: The mmdet ``SingleRoIExtractor`` to replace; its ``roi_layers`` must be mmcv
            ``RoIAlign`` with ``pool_mode='avg'``.

    Shape:
        feats: tuple of (N, C, H_i, W_i); rois (K, 5) as (batch index, x1, y1, x2, y2) in input
        pixels -> (K, C, out_h, out_w).

    Raises:
        ValueError: a RoI layer that is not average RoIAlign, or a ``roi_scale_factor``/``gc_context``
            setting this does not reproduce.
    """

    def __init__(self, extractor: nn.Module):
        super().__init__()
        layers = extractor.roi_layers
        for layer in layers:
            if type(layer).__name__ != 'RoIAlign' or getattr(layer, 'pool_mode', 'avg') != 'avg':
                raise ValueError(f'export supports average RoIAlign RoI layers, got {layer!r}')
        self.extractor = extractor
        self.num_inputs = extractor.num_inputs  # mmdet's RoI heads read it
        self.output_size = tuple(layers[0].output_size)
        self.spatial_scales = [float(layer.spatial_scale) for layer in layers]
        self.sampling_ratio = int(layers[0].sampling_ratio)
        self.aligned = bool(layers[0].aligned)

    def forward(self, feats: Sequence[torch.Tensor], rois: torch.Tensor,
                roi_scale_factor=None) -> torch.Tensor:
        if roi_scale_factor is not None:
            raise ValueError('export does not reproduce roi_scale_factor (a RoI rescaling)')
        num_levels = len(feats)
        if num_levels == 1:
            return self._align(feats[0], rois, 0)
        levels = self.extractor.map_roi_levels(rois, num_levels)
        out = feats[0].new_zeros(rois.shape[0], feats[0].shape[1], *self.output_size)
        for i in range(num_levels):
            index = (levels == i).nonzero().squeeze(1)
            out = out.index_put((index, ), self._align(feats[i], rois[index], i))
        return out

    def _align(self, feat: torch.Tensor, rois: torch.Tensor, level: int) -> torch.Tensor:
        from torchvision.ops import roi_align
        return roi_align(feat, rois, self.output_size, self.spatial_scales[level],
                         self.sampling_ratio, self.aligned)
