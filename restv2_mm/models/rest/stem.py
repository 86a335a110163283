"""The convolutional stems of ResTv2 (appendix D, Table 4) and ResTv1 (official models/rest.py,
``BasicStem``): stride 4, tokens and a position encoding out."""
from typing import Optional, Tuple, Union

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG, NORM_CFG
from ..common.layout import to_tokens
from ..common.recompute import recomputed
from .position import PA, build_position


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
                with_cp: Union[bool, str] = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the part after the last BatchNorm in backward (a BatchNorm run
        twice would update its running statistics twice)."""
        return recomputed(self._tail, self.proj[:-1](x), with_cp=with_cp)

    def _tail(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj[-1](x)
        x, hw_shape = to_tokens(x if self.pos is None else self.pos(x))
        return self.norm(x), hw_shape


class ResTv1Stem(nn.Module):
    """ResTv1 stem: Conv3x3-s2 (C/2) + BN + ReLU, Conv3x3-s1 (C/2) + BN + ReLU, Conv3x3-s2 (C), PA.

    No norm on the output tokens (ResTv2's stem adds a 1x1 conv and a LayerNorm). Module names
    follow the official release (``conv1``, ``norm1``, ``conv2``, ``norm2``, ``conv3``,
    ``pos.pa_conv``) so its checkpoints load unchanged. The official code also defines a 7x7
    ``Stem`` that its models do not use.

    Args:
        in_channels (int): Input channels (3 for RGB).
        embed_dims (int): Output channels C.
        conv_norm_cfg (dict): Norm of the first two convs. Default: ``dict(type='BN')``.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', C) with H' = ceil(ceil(H/2)/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        hidden = embed_dims // 2
        self.conv1 = nn.Conv2d(in_channels, hidden, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm1 = build_norm_layer(conv_norm_cfg, hidden)[1]
        self.conv2 = nn.Conv2d(hidden, hidden, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = build_norm_layer(conv_norm_cfg, hidden)[1]
        self.conv3 = nn.Conv2d(hidden, embed_dims, kernel_size=3, stride=2, padding=1, bias=False)
        self.act = build_activation_layer(dict(type='ReLU', inplace=True))
        self.pos = PA(embed_dims)

    def forward(self, x: torch.Tensor,
                with_cp: Union[bool, str] = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes the part after the last BatchNorm in backward (a BatchNorm run
        twice would update its running statistics twice)."""
        x = self.act(self.norm1(self.conv1(x)))
        x = self.act(self.norm2(self.conv2(x)))
        return recomputed(self._tail, x, with_cp=with_cp)

    def _tail(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        return to_tokens(self.pos(self.conv3(x)))
