"""RMT's convolutional stems (official code): RMT's four-conv stem and RMT-Swin's two-conv one."""
from typing import Tuple

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn

from ...ops import batch_norm_act_conv
from ..common.defaults import ACT_CFG, CONV_NORM_CFG


class RMTStem(nn.Module):
    """RMT stem: four 3x3 convs, strides 2, 1, 2, 1, to C/2, C/2, C, C channels, each followed by a
    BatchNorm, and an activation after all but the last (official ``PatchEmbed`` of
    ``classfication_release/RMT.py``; supplement A describes five convs, the code has four).

    Module names follow the official release (``proj.{0,1,3,4,6,7,9,10}``; the convs have biases).
    Each norm, its activation and the next conv run through
    :func:`restv2_mm.ops.batch_norm_act_conv`.

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): The norms. Default: ``dict(type='BN')``; the official detection
            and segmentation code uses SyncBN.
        act_cfg (dict): The activations. Default: ``dict(type='GELU')``.

    Shape:
        (N, in_channels, H, W) -> channels-last (N, H', W', C) with H' = ceil(ceil(H/2)/2).
    """

    # (output channels over C, stride) of each conv.
    convs: Tuple[Tuple[float, int], ...] = ((0.5, 2), (0.5, 1), (1, 2), (1, 1))

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG,
                 act_cfg: dict = ACT_CFG):
        super().__init__()
        layers = []
        for i, (ratio, stride) in enumerate(self.convs):
            width = int(embed_dims * ratio)
            layers += [nn.Conv2d(in_channels, width, kernel_size=3, stride=stride, padding=1),
                       build_norm_layer(conv_norm_cfg, width)[1]]
            if i < len(self.convs) - 1:
                layers.append(build_activation_layer(act_cfg))
            in_channels = width
        self.proj = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = list(self.proj)  # conv, (norm, act, conv) per activation, norm
        x = layers[0](x)
        for i in range(1, len(layers) - 1, 3):
            x = batch_norm_act_conv(x, *layers[i:i + 3])
        return layers[-1](x).permute(0, 2, 3, 1)


class RMTSwinStem(RMTStem):
    """RMT-Swin stem: two 3x3 stride-2 convs, to C/2 and C channels, each followed by a BatchNorm,
    an activation between them (official ``PatchEmbed`` of
    ``segmentation/mmseg/models/backbones/RMT_Swin.py``: the RMT stem without its stride-1 convs).

    Module names follow the official release (``proj.{0,1,3,4}``); arguments and shapes are
    :class:`RMTStem`'s.
    """

    convs = ((0.5, 2), (1, 2))
