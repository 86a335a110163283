"""Building blocks: attention variants, blocks, stems, patch embeddings, position encodings."""
from .block import ResTv2Block
from .defaults import ACT_CFG, CONV_NORM_CFG, NORM_CFG
from .embed import PatchEmbed
from .embed_v1 import ResTv1PatchEmbed
from .emsav2 import BRANCHES, UP_TARGETS, EMSAv2, check_switches, reduced_size
from .grad_checkpoint import checkpointed
from .layout import to_map, to_tokens
from .mhim import interaction_attention
from .mlp import Mlp
from .position import APE, PA, PEG, POS_EMBEDS, build_position, check_pos_embed, relative_position
from .stem import ConvStem
from .stem_v1 import ResTv1Stem
from .upsample import UP_MODES, build_upsample, upsample
from .window import window_merge, window_partition

__all__ = ['ACT_CFG', 'APE', 'BRANCHES', 'CONV_NORM_CFG', 'NORM_CFG', 'PA', 'PEG', 'POS_EMBEDS',
           'UP_MODES', 'UP_TARGETS', 'ConvStem', 'EMSAv2', 'Mlp', 'PatchEmbed', 'ResTv1PatchEmbed',
           'ResTv1Stem', 'ResTv2Block', 'build_position', 'build_upsample', 'check_pos_embed',
           'check_switches', 'checkpointed', 'interaction_attention', 'reduced_size',
           'relative_position', 'to_map', 'to_tokens', 'upsample', 'window_merge',
           'window_partition']
