"""ResT ("ResT: An Efficient Transformer for Visual Recognition", NeurIPS 2021; "ResT V2:
Simpler, Faster and Stronger", NeurIPS 2022): the ResTv1, ResTv2 and PVT-EMSAv2 backbones and
their layers (EMSA, EMSAv2 and its ablations, blocks, stems, patch embeddings, position
encodings).

``PVTEMSAv2`` extends mmdet's PVT, whose import needs mmdet's models and so mmcv's compiled ops:
it is imported on first use (``restv2_mm.models.PVTEMSAv2`` or building ``type='PVTEMSAv2'``),
so that a classification-only environment (mmpretrain with mmcv-lite) imports the package.
"""
from typing import Any

from .ablations import (
                        BRANCHES,
                        UP_TARGETS,
                        DownUpConvNet,
                        EMSAv2RPE,
                        EMSAv2UpK,
                        EMSAv2UpMode,
                        EMSAv2UpX,
                        build_emsa,
                        check_switches,
)
from .base import ResTBase, ResTStage
from .block import ResTBlock
from .emsa import EMSA, reduced_size
from .emsav2 import EMSAv2
from .mhim import interaction_attention
from .patch_embed import PatchEmbed, ResTv1PatchEmbed
from .position import APE, PA, PEG, POS_EMBEDS, build_position, check_pos_embed, relative_position
from .restv1 import ResTv1
from .restv2 import STYLES, ResTv2
from .stem import ConvStem, ResTv1Stem

PVT_REQUIREMENT = ("PVTEMSAv2 extends mmdet's PyramidVisionTransformer: it needs mmdet >= 3.3 "
                   "with mmcv's compiled ops (the full mmcv 2.1 package, not mmcv-lite)")


def load_pvt_emsav2() -> type:
    """The :class:`~.pvt_emsav2.PVTEMSAv2` class, importing mmdet's PVT now.

    Raises:
        ImportError: mmdet's models do not import here (mmdet missing, or mmcv without its compiled
            ops); the message says what is needed and what failed.
    """
    try:
        from .pvt_emsav2 import PVTEMSAv2
    except ImportError as e:
        raise ImportError(f'{PVT_REQUIREMENT}; importing it failed: {type(e).__name__}: {e}') from e
    return PVTEMSAv2


def build_pvt_emsav2(*args: Any, **kwargs: Any):
    """``PVTEMSAv2(*args, **kwargs)``: what the model registries hold under ``'PVTEMSAv2'``, so that
    mmdet is imported only when a config builds one.

    Raises:
        ImportError: see :func:`load_pvt_emsav2`.
    """
    return load_pvt_emsav2()(*args, **kwargs)


def __getattr__(name: str) -> Any:
    if name == 'PVTEMSAv2':
        return load_pvt_emsav2()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['APE', 'BRANCHES', 'EMSA', 'PA', 'PEG', 'POS_EMBEDS', 'PVT_REQUIREMENT', 'STYLES',
           'UP_TARGETS', 'ConvStem', 'DownUpConvNet', 'EMSAv2', 'EMSAv2RPE', 'EMSAv2UpK',
           'EMSAv2UpMode', 'EMSAv2UpX', 'PVTEMSAv2', 'PatchEmbed', 'ResTBase', 'ResTBlock',
           'ResTStage', 'ResTv1', 'ResTv1PatchEmbed', 'ResTv1Stem', 'ResTv2', 'build_emsa',
           'build_position', 'build_pvt_emsav2', 'check_pos_embed', 'check_switches',
           'interaction_attention', 'load_pvt_emsav2', 'reduced_size', 'relative_position']
