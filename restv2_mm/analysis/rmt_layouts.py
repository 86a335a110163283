"""Where our RMT is compared with the official code (github.com/qhfan/RMT): the inputs and the
retention layouts of the benchmark's ``rmt`` suite and of ``tools/analysis_tools/profile_rmt.py``.

The official classifier decomposes the retention (rows, then columns) in stages 1-2 of RMT-T and
1-3 of RMT-S (``classfication_release/RMT.py``); its detection and segmentation configs
(``detect/configs/RMT``, ``segmentation/configs/RMT``) set ``chunkwise_recurrents`` per backbone.
"""
from typing import Tuple

from torch import nn

_CLS, _DET = (True, True, False, False), (True, True, True, False)
# size -> (batch, H, W, ``chunkwise_recurrents`` by arch): the classifier's layout at 224, the
# segmentation configs' at 512x512, and the detection layout (decomposed retention in stages 1-3)
# at 1333x800 (an 800x1344 input).
RMT_LAYOUTS = {'224': (8, 224, 224, dict(t=_CLS, s=_DET)),
               '512x512': (1, 512, 512, dict(t=_CLS, s=_DET)),
               '1333x800': (1, 800, 1344, dict(t=_DET, s=_DET))}
RMT_ARCHS = ('t', 's')  # the archs compared (keys of ``RMT.arch_zoo``)


def rmt_backbone(arch: str, chunkwise: Tuple[bool, ...]) -> nn.Module:
    """Our :class:`restv2_mm.models.RMT` of ``arch`` (a key of ``RMT.arch_zoo``: the official
    settings) with the given ``chunkwise_recurrents``, all four outputs, PyTorch's default
    initialisation.

    Raises:
        KeyError: an ``arch`` that ``RMT.arch_zoo`` lacks.
    """
    from ..models import RMT
    return RMT(arch=dict(RMT.arch_zoo[arch], chunkwise_recurrents=list(chunkwise)),
               out_indices=(0, 1, 2, 3))
