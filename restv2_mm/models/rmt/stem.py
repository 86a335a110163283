"""The convolutional stems: ResTv2's (appendix D, Table 4) and RMT's (official code)."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn

from ..common.defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from ..common.grad_checkpoint import checkpointed
from ..common.layout import to_tokens
from ..rest.position import build_position


class ConvStem(nn.Module):
    """ResTv2 stem: Conv3x3-s2 (C/2) + BN + ReLU, Conv3x3-s2 (C) + BN + ReLU, Conv1x1 (C), PA, LN.

    Appendix D, Table 4 ("stem"). Module names follow the official release
    (``proj.{0,1,3,4,6}``, ``pos.pa_conv``, ``norm``) so its checkpoints load unchanged.

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): Norm of the two 3x3 convs. Default: ``dict(type='BN')``.
        norm_cfg (dict): Norm of the output tokens. Default: ``dict(type='LN', eps=1e-6)``.
        pos_embed (str): The ``pos`` layer (appendix E): ``'pa'`` (default), ``'peg'``, ``'ape'``,
            or none for ``'none'`` and ``'rpe'``; see :func:`.position.build_position`.
        pos_size (tuple[int, int], optional): Output map size at the pre-training input, which
            sizes APE.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', C) with H' = ceil(ceil(H/2)/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG,
                 norm_cfg: dict = NORM_CFG, pos_embed: str = 'pa',
                 pos_size: Optional[Tuple[int, int]] = None):
        super().__init__()
        layers = []
        in_dim, out_dim = in_channels, embed_dims // 2
        for _ in range(2):
            layers += [
                nn.Conv2d(in_dim, out_dim, kernel_size=3, stride=2, padding=1, bias=False),
                build_norm_layer(conv_norm_cfg, out_dim)[1],
                build_activation_layer(dict(type='ReLU', inplace=True)),
            ]
            in_dim, out_dim = out_dim, out_dim * 2
        layers.append(nn.Conv2d(in_dim, embed_dims, kernel_size=1))
        self.proj = nn.Sequential(*layers)
        self.pos = build_position(pos_embed, embed_dims, pos_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor,
                with_cp: bool = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the part after the last BatchNorm in backward (a BatchNorm run
        twice would update its running statistics twice)."""
        return checkpointed(self._tail, self.proj[:-1](x), with_cp=with_cp)

    def _tail(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj[-1](x)
        x, hw_shape = to_tokens(x if self.pos is None else self.pos(x))
        return self.norm(x), hw_shape


class RMTStem(nn.Module):
    """RMT stem: four 3x3 convs, strides 2, 1, 2, 1, to C/2, C/2, C, C channels, each followed by a
    BatchNorm, and an activation after all but the last (official ``PatchEmbed`` of
    ``classfication_release/RMT.py``; supplement A describes five convs, the code has four).

    Module names follow the official release (``proj.{0,1,3,4,6,7,9,10}``; the convs have biases).

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
        return self.proj(x).permute(0, 2, 3, 1)


class RMTSwinStem(nn.Module):
    """RMT-Swin stem: two 3x3 stride-2 convs, to C/2 and C channels, each followed by a BatchNorm,
    an activation between them (official ``PatchEmbed`` of
    ``segmentation/mmseg/models/backbones/RMT_Swin.py``: the RMT stem without its stride-1 convs).

    Module names follow the official release (``proj.{0,1,3,4}``; the convs have biases).

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)
