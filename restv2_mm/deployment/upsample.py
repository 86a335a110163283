"""mmseg's ``Upsample`` (Semantic FPN's scale heads) made size-independent for export.

mmseg computes the output size as ``int(t * scale_factor)`` from the input's height and width; a
float product turned into an int makes ``torch.export`` bake the traced size into the graph as a
constant, so a file traced at one size resized every other to the wrong size. With an integer
factor the size is ``t * k``, which stays symbolic; the result is the same
``F.interpolate(x, size, mode, align_corners)``.
"""
import torch
import torch.nn.functional as F
from torch import nn


class IntegerUpsample(nn.Module):
    """``mmseg.models.utils.Upsample`` with an integer ``scale_factor`` k and no fixed size.

    Shape:
        (N, C, H, W) -> (N, C, k H, k W).
    """

    def __init__(self, factor: int, mode: str, align_corners):
        super().__init__()
        self.factor, self.mode, self.align_corners = factor, mode, align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = [t * self.factor for t in x.shape[-2:]]
        return F.interpolate(x, size=size, mode=self.mode, align_corners=self.align_corners)


def symbolic_upsampling(module: nn.Module) -> nn.Module:
    """Replace, in place, every mmseg ``Upsample`` of ``module`` that scales by an integer factor
    by an :class:`IntegerUpsample` (fixed-size ones export as they are).

    Returns:
        ``module``.

    Raises:
        ValueError: an ``Upsample`` by a non-integer or per-axis factor, whose output size has no
            size-independent export; names the module.
    """
    try:
        from mmseg.models.utils import Upsample
    except ImportError:  # no mmseg: no such module to replace
        return module
    for name, child in list(module.named_modules()):
        if not isinstance(child, Upsample) or child.size:
            continue
        factor = child.scale_factor
        if not isinstance(factor, float) or not factor.is_integer():
            raise ValueError(f'{name}: Upsample by scale_factor={factor} is exported only with '
                             f'an integer factor (or a fixed size)')
        parent, _, attr = name.rpartition('.')
        setattr(module.get_submodule(parent) if parent else module, attr,
                IntegerUpsample(int(factor), child.mode, child.align_corners))
    return module
