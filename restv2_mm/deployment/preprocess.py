"""The data preprocessor's work inside the exported graph: channel order, normalisation, padding.

The graph's input is the batch the test pipeline makes (``LoadImageFromFile``, ``Resize``, ...,
``Pack*Inputs``): (N, 3, H, W) pixel values 0-255 as float32, channels in the order the image was
loaded (BGR for mmcv's loader), every image of a batch the same size. The graph does what the
model's data preprocessor does after that, in the same order: BGR -> RGB, ``(x - mean) / std``,
then zero padding (after normalisation) on the right and bottom to a multiple of
``pad_size_divisor`` (mmdet: 32).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Preprocess(nn.Module):
    """Channel flip, normalisation and padding of an OpenMMLab data preprocessor, traceable.

    Args:
        mean, std: Per-channel values (3), or None for no normalisation.
        flip_channels: Reverse the channel order (``bgr_to_rgb``/``rgb_to_bgr``/``to_rgb``).
        size_divisor: Pad H and W up to a multiple of this (1: no padding).
        pad_value: The value of the padding, after normalisation.

    Shape:
        (N, 3, H, W) float32 0-255 -> (N, 3, H', W'), H' = ceil(H / size_divisor) * size_divisor.
    """

    def __init__(self, mean: Optional[Sequence[float]], std: Optional[Sequence[float]],
                 flip_channels: bool, size_divisor: int = 1, pad_value: float = 0.):
        super().__init__()
        self.normalize = mean is not None
        if self.normalize:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.flip_channels = bool(flip_channels)
        self.size_divisor = int(size_divisor or 1)
        self.pad_value = float(pad_value)

    @classmethod
    def from_data_preprocessor(cls, dp: nn.Module) -> 'Preprocess':
        """From an mmdet ``DetDataPreprocessor``, mmseg ``SegDataPreProcessor`` or mmpretrain
        ``ClsDataPreprocessor``.

        Batch augments (mixup, cutmix) act in training only and are left out.

        Raises:
            ValueError: mmseg's fixed test ``size`` (not a size rule).
        """
        normalize = getattr(dp, '_enable_normalize', False)
        mean = dp.mean.flatten().tolist() if normalize else None
        std = dp.std.flatten().tolist() if normalize else None
        flip = getattr(dp, '_channel_conversion', None)
        if flip is None:  # mmseg / mmpretrain names
            flip = getattr(dp, 'channel_conversion', None)
        if flip is None:
            flip = getattr(dp, 'to_rgb', False)
        divisor, pad = getattr(dp, 'pad_size_divisor', 1), getattr(dp, 'pad_value', 0)
        if hasattr(dp, 'pad_val'):  # mmseg: padding only where test_cfg asks
            test_cfg = dp.test_cfg or {}
            if test_cfg.get('size'):
                raise ValueError(f'data_preprocessor.test_cfg.size={test_cfg["size"]}: padding '
                                 f'to one fixed size is not exported (use size_divisor)')
            divisor, pad = test_cfg.get('size_divisor') or 1, dp.pad_val
        return cls(mean, std, flip, divisor, pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flip_channels:
            x = x.flip(1)
        if self.normalize:
            x = (x - self.mean) / self.std
        if self.size_divisor > 1:
            h, w = x.shape[-2:]
            x = F.pad(x, (0, (-w) % self.size_divisor, 0, (-h) % self.size_divisor),
                      value=self.pad_value)
        return x
