"""Building blocks: attention variants, blocks, stems, patch embeddings, position encodings."""
from .block import ResTv2Block
from .conv_ffn import ConvFFN
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .dwconv import DWConv2d
from .embed import ConvPatchMerging, PatchEmbed
from .embed_v1 import ResTv1PatchEmbed
from .emsav2 import BRANCHES, UP_TARGETS, EMSAv2, check_switches, reduced_size
from .grad_checkpoint import checkpointed
from .layout import to_map, to_tokens
from .mhim import interaction_attention
from .mlp import Mlp
from .position import APE, PA, PEG, POS_EMBEDS, build_position, check_pos_embed, relative_position
from .retention import RetentionRelPos2d, VisionRetention, theta_shift
from .rmt_block import RMTBlock
from .stem import ConvStem, RMTStem, RMTSwinStem
from .stem_v1 import ResTv1Stem
from .upsample import UP_MODES, build_upsample, upsample
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'APE', 'BRANCHES', 'CONV_NORM_CFG', 'NORM_CFG', 'PA', 'PEG', 'POS_EMBEDS',
           'UP_MODES', 'UP_TARGETS', 'ConvFFN', 'ConvPatchMerging', 'ConvStem', 'DWConv2d',
           'EMSAv2', 'Mlp', 'PatchEmbed', 'RMTBlock', 'RMTStem', 'RMTSwinStem',
           'ResTv1PatchEmbed', 'ResTv1Stem',
           'ResTv2Block', 'RetentionRelPos2d', 'VisionRetention', 'build_position',
           'build_upsample', 'check_pos_embed', 'check_switches', 'checkpointed',
           'interaction_attention', 'reduced_size', 'relative_position', 'theta_shift', 'to_map',
           'to_tokens', 'upsample', 'window_merge', 'window_partition']
