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
    # Window counts first and no -1 in the views: shapes a symbolic exporter can follow.
    rows, cols = (h + s - 1) // s, (w + s - 1) // s
    # Padded even by zero rows: no shape-dependent branch, so exported graphs hold at every size.
    x = F.pad(x.view(n, h, w, c), (0, 0, 0, cols * s - w, 0, rows * s - h))
    x = x.view(n, rows, s, cols, s, c).transpose(2, 3)
    return x.reshape(n * rows * cols, s * s, c), (rows * s, cols * s)


def window_merge(windows: torch.Tensor, hw_shape: Tuple[int, int], padded_shape: Tuple[int, int],
                 window_size: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: windows back to (N, H*W, C), padding cropped."""
    h, w = hw_shape
    hp, wp = padded_shape
    s = window_size
    rows, cols = hp // s, wp // s
    n, c = windows.shape[0] // (rows * cols), windows.shape[-1]
    x = windows.view(n, rows, cols, s, s, c).transpose(2, 3).reshape(n, hp, wp, c)
    return x[:, :h, :w].reshape(n, h * w, c)
