"""RMT's rotary position: each channel pair of q or k turned by an angle (official ``theta_shift``
of ``classfication_release/RMT.py``), as the official real form (the reference) or as one complex
product."""
import torch

from ...utils.torch_compat import is_compiling


def rotate_every_two(x: torch.Tensor) -> torch.Tensor:
    """Channel pairs (x0, x1) -> (-x1, x0): the quarter turn of the rotary (official code).

    Shape:
        (..., D) -> (..., D), D even.
    """
    even, odd = x[..., ::2], x[..., 1::2]
    return torch.stack((-odd, even), dim=-1).flatten(-2)


def rotary_reference(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor,
                     scale: float = 1.) -> torch.Tensor:
    """``theta_shift(x * scale)`` = ``x' * cos + rotate_every_two(x') * sin``, ``x' = x * scale``
    (the official code scales k before it turns it)."""
    if scale != 1:
        x = x * scale
    return x * cos + rotate_every_two(x) * sin


def rotary_complex(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor,
                   scale: float = 1.) -> torch.Tensor:
    """Each channel pair (x0, x1) read as x0 + i x1 and multiplied by ``scale * (cos + i sin)``:
    (x0 cos - x1 sin, x1 cos + x0 sin) times the scale, the official rotation, in one pass over x
    (the real form slices, negates, stacks and takes two products and a sum) and one in backward.
    The scale goes into the (small) table instead of a pass over x."""
    turn = torch.complex(cos[..., ::2], sin[..., ::2])
    if scale != 1:
        turn = turn * scale
    return torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * turn).flatten(-2)


def rotary_complex_runs(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor,
                        scale: float = 1.) -> bool:
    """A contiguous float32/float64 x of the tables' dtype (no complex bf16/fp16), outside
    ``torch.compile`` (whose CPU backend has no complex kernels)."""
    return (x.dtype in (torch.float32, torch.float64) and x.dtype == cos.dtype == sin.dtype
            and x.is_contiguous() and not is_compiling())


def rotary_example(dtype: torch.dtype) -> tuple:
    """x (2, 5, 6, 4, 16) (batch, H, W, heads, channels), tables (5, 6, 1, 16) of the official
    angles 10000^-linspace(0, 1, 8) over the raster index, scale 16^-1/2."""
    angle = (1.0 / 10000 ** torch.linspace(0, 1, 8, dtype=dtype)).repeat_interleave(2)
    phase = torch.arange(30, dtype=dtype)[:, None] * angle
    sin, cos = (t.reshape(5, 6, 1, 16) for t in (phase.sin(), phase.cos()))
    x = torch.randn(2, 5, 6, 4, 16, generator=torch.Generator().manual_seed(0), dtype=dtype,
                    requires_grad=True)
    return x, sin, cos, 0.25
