from .block import Mlp, ResTv2Block
from .emsav2 import EMSAv2
from .pa import PA
from .patch_embed import ConvStem, PatchEmbed
from .window import window_merge, window_partition

__all__ = ['PA', 'ConvStem', 'PatchEmbed', 'EMSAv2', 'Mlp', 'ResTv2Block',
           'window_partition', 'window_merge']
