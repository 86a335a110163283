"""Depth-wise convolution of channels-last maps: RMT's CPE, LCE and FFN convolution."""
import torch
from torch import nn


class DWConv2d(nn.Module):
    """Depth-wise ``k x k`` convolution (stride 1, same padding) of a channels-last map.

    RMT keeps its stages channels-last, (N, H, W, C); this runs ``nn.Conv2d(groups=C)`` on the
    (N, C, H, W) view and returns channels-last again. RMT uses it as the conditional position
    encoding (3x3, ``pos``), the local context enhancement of V (5x5, ``lepe``) and inside the FFN
    (3x3, ``dwconv``) (supplement A; official ``DWConv2d`` in ``classfication_release/RMT.py``,
    whose inner module name ``conv`` is kept so that checkpoints load).

    Args:
        embed_dims (int): Channels C.
        kernel_size (int): Odd kernel side k; the padding is k // 2, so H and W are kept.

    Shape:
        (N, H, W, C) -> (N, H, W, C).
    """

    def __init__(self, embed_dims: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(embed_dims, embed_dims, kernel_size, 1, kernel_size // 2,
                              groups=embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
