"""The memory layout of feature maps."""
import torch


def keep_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` unchanged: plain NCHW, no memory-format decisions for an exporter to guard on."""
    return x


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last memory (a view where it already is): depth-wise convs and
    PixelShuffle run faster on it on the CPU, and a token map read as (N, C, H, W) already is."""
    return x.contiguous(memory_format=torch.channels_last)


def to_channels_last_runs(x: torch.Tensor) -> bool:
    """A 4-D map."""
    return x.dim() == 4


def channels_last_example(dtype: torch.dtype) -> tuple:
    """A (2, 6, 5, 7) NCHW map."""
    return torch.randn(2, 6, 5, 7, generator=torch.Generator().manual_seed(0), dtype=dtype,
                       requires_grad=True),
