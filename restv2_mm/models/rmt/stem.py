"""RMT's convolutional stems (official code): RMT's four-conv stem and RMT-Swin's two-conv one."""
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
    :func:`restv2_mm.ops.batch_norm_act_conv` (only the norm's input kept for backward).

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): The four norms. Default: ``dict(type='BN')``; the official detection
            and segmentation code uses SyncBN.
        act_cfg (dict): The three activations. Default: ``dict(type='GELU')``.

    Shape:
        (N, in_channels, H, W) -> channels-last (N, H', W', C) with H' = ceil(ceil(H/2)/2).
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG,
                 act_cfg: dict = ACT_CFG):
        super().__init__()
        layers = []
        widths = (embed_dims // 2, embed_dims // 2, embed_dims, embed_dims)
        for i, (width, stride) in enumerate(zip(widths, (2, 1, 2, 1))):
            layers += [nn.Conv2d(in_channels, width, kernel_size=3, stride=stride, padding=1),
                       build_norm_layer(conv_norm_cfg, width)[1]]
            if i < len(widths) - 1:
                layers.append(build_activation_layer(act_cfg))
            in_channels = width
        self.proj = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = list(self.proj)  # conv, (norm, act, conv) per activation, norm
        x = layers[0](x)
        for i in range(1, len(layers) - 1, 3):
            x = batch_norm_act_conv(x, *layers[i:i + 3])
        return layers[-1](x).permute(0, 2, 3, 1)


class RMTSwinStem(nn.Module):
    """RMT-Swin stem: two 3x3 stride-2 convs, to C/2 and C channels, each followed by a BatchNorm,
    an activation between them (official ``PatchEmbed`` of
    ``segmentation/mmseg/models/backbones/RMT_Swin.py``: the RMT stem without its stride-1 convs).

    Module names follow the official release (``proj.{0,1,3,4}``; the convs have biases); the
    forward is :class:`RMTStem`'s.

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): The two norms. Default: ``dict(type='BN')`` (official: SyncBN).
        act_cfg (dict): The activation. Default: ``dict(type='GELU')``.

    Shape:
        (N, in_channels, H, W) -> channels-last (N, H', W', C) with H' = ceil(ceil(H/2)/2).
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG,
                 act_cfg: dict = ACT_CFG):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(in_channels, embed_dims // 2, kernel_size=3, stride=2, padding=1),
            build_norm_layer(conv_norm_cfg, embed_dims // 2)[1],
            build_activation_layer(act_cfg),
            nn.Conv2d(embed_dims // 2, embed_dims, kernel_size=3, stride=2, padding=1),
            build_norm_layer(conv_norm_cfg, embed_dims)[1])

    forward = RMTStem.forward
