"""RMT-Swin: the Swin-shaped RMT of the supplement's ablations (Table 1, "RMT-Swin-T/S")."""
from typing import Union

from .rmt import RMT
from .stem import RMTSwinStem


class RMTSwin(RMT):
    """RMT-Swin backbone (official ``RMT_Swin``, ``segmentation/mmseg/models/backbones/RMT_Swin.py``).

    The official module is RMT with a two-conv stem (``RMTSwinStem``: 3x3 stride-2 convs to C/2
    and C, BatchNorm after each, GELU between); the stages, retention blocks, patch merging and
    output norms are RMT's, so every argument, behaviour and checkpoint rule of :class:`RMT`
    applies. The archs take Swin's widths, depths and heads with the supplement's Table 1 FFN
    ratio (4) and Table 4 decay range (a = 2, b = 8, i.e. ``init_values`` 2, ``heads_ranges`` 6);
    decomposed retention in stages 1-2, the official module's default.

    Args:
        arch (str | dict): ``'swin-t'|'t'|'tiny'`` (depths 2, 2, 6, 2) or ``'swin-s'|'s'|'small'``
            (2, 2, 18, 2), or an arch dict as :class:`RMT` takes. Default: ``'swin-t'``.
        **kwargs: The other arguments of :class:`RMT`.
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny', 'swin-t'], dict(
            embed_dims=[96, 192, 384, 768], depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
            mlp_ratios=[4, 4, 4, 4], init_values=[2, 2, 2, 2], heads_ranges=[6, 6, 6, 6],
            chunkwise_recurrents=[True, True, False, False],
            layerscales=[False, False, False, False])),
        **dict.fromkeys(['s', 'small', 'swin-s'], dict(
            embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24],
            mlp_ratios=[4, 4, 4, 4], init_values=[2, 2, 2, 2], heads_ranges=[6, 6, 6, 6],
            chunkwise_recurrents=[True, True, False, False],
            layerscales=[False, False, False, False])),
    }
    stem_cls = RMTSwinStem

    def __init__(self, arch: Union[str, dict] = 'swin-t', **kwargs):
        super().__init__(arch=arch, **kwargs)
