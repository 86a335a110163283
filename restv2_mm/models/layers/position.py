"""Positional encodings that need no size of their own (ResTv2 appendix E)."""
import torch
from torch import nn


class PA(nn.Module):
    """Pixel-wise attention: ``x * sigmoid(DWConv3x3(x))`` (ResTv2 appendix E, eq. 3).

    It encodes absolute position through the zero padding of the depth-wise conv, so it has no
    size of its own and works for any H, W. Official name of the conv: ``pa_conv``.

    Args:
        dims (int): Channels C of the input.

    Shape:
        (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, dims: int):
        super().__init__()
        self.pa_conv = nn.Conv2d(dims, dims, kernel_size=3, padding=1, groups=dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.pa_conv(x))
