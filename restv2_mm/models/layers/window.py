"""Non-overlapping window partition for the Win / CWin / HWin fine-tuning styles (paper 5.1)."""
from typing import Tuple

import torch
import torch.nn.functional as F


def window_partition(x: torch.Tensor, hw_shape: Tuple[int, int],
                     window_size: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Zero-pad a token map to a multiple of the window and batch its windows.

    Padding goes to the bottom and right, as in Swin; the padded tokens are zeros, which is what
    makes the Linear and Conv FLOPs of windowed styles grow with the padding (paper Table 3(b)).

    Args:
        x: tokens (N, H*W, C) in row-major order.
        hw_shape: (H, W).
        window_size: side s of the square windows.

    Returns:
        windows (N * ceil(H/s) * ceil(W/s), s*s, C) and the padded size (Hp, Wp).
    """
    n, _, c = x.shape
    h, w = hw_shape
    s = window_size
    hp, wp = -(-h // s) * s, -(-w // s) * s
    x = x.view(n, h, w, c)
    if hp != h or wp != w:
        x = F.pad(x, (0, 0, 0, wp - w, 0, hp - h))
    x = x.view(n, hp // s, s, wp // s, s, c).transpose(2, 3)
    return x.reshape(-1, s * s, c), (hp, wp)


def window_merge(windows: torch.Tensor, hw_shape: Tuple[int, int], padded_shape: Tuple[int, int],
                 window_size: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: windows back to (N, H*W, C), padding cropped."""
    h, w = hw_shape
    hp, wp = padded_shape
    s = window_size
    c = windows.shape[-1]
    x = windows.view(-1, hp // s, wp // s, s, s, c).transpose(2, 3).reshape(-1, hp, wp, c)
    if hp != h or wp != w:
        x = x[:, :h, :w]
    return x.reshape(-1, h * w, c)
