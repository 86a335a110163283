"""Building blocks: attention variants, blocks, stems, patch embeddings, position encodings."""
from .block import ResTv2Block
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .embed import PatchEmbed
from .emsav2 import EMSAv2
from .grad_checkpoint import checkpointed
from .layout import to_map, to_tokens
from .mlp import Mlp
from .position import PA
from .stem import ConvStem
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'CONV_NORM_CFG', 'NORM_CFG', 'PA', 'ConvStem', 'EMSAv2', 'Mlp',
           'PatchEmbed', 'ResTv2Block', 'checkpointed', 'to_map', 'to_tokens', 'window_merge',
           'window_partition']
