"""RMT's stride-2 downsampling between stages, the official ``PatchMerging``."""
import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG


class ConvPatchMerging(nn.Module):
    """RMT's downsampling between stages: Conv3x3-s2-p1 then a BatchNorm, on channels-last maps
    (official ``PatchMerging`` of ``classfication_release/RMT.py``; names ``reduction``, ``norm``).

    Args:
        in_channels (int): Channels of the previous stage.
        embed_dims (int): Channels of the next stage.
        conv_norm_cfg (dict): The norm. Default: ``dict(type='BN')`` (official detection and
            segmentation code: SyncBN).

    Shape:
        (N, H, W, in_channels) -> (N, ceil(H/2), ceil(W/2), embed_dims).
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        self.reduction = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=2, padding=1)
        self.norm = build_norm_layer(conv_norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.reduction(x.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)
