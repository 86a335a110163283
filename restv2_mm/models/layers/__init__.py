"""Building blocks: attention variants, blocks, stems, patch embeddings, position encodings."""
from .block import ResTv2Block
from .conv_ffn import ConvFFN
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .dwconv import DWConv2d
from .embed import ConvPatchMerging, PatchEmbed
from .emsav2 import EMSAv2
from .grad_checkpoint import checkpointed
from .layout import to_map, to_tokens
from .mlp import Mlp
from .position import PA
from .retention import RetentionRelPos2d, VisionRetention, theta_shift
from .rmt_block import RMTBlock
from .stem import ConvStem, RMTStem
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'CONV_NORM_CFG', 'NORM_CFG', 'PA', 'ConvFFN', 'ConvPatchMerging', 'ConvStem',
           'DWConv2d', 'EMSAv2', 'Mlp', 'PatchEmbed', 'RMTBlock', 'RMTStem', 'ResTv2Block',
           'RetentionRelPos2d', 'VisionRetention', 'checkpointed', 'theta_shift', 'to_map',
           'to_tokens', 'window_merge', 'window_partition']
