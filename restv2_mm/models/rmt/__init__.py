"""RMT ("RMT: Retentive Networks Meet Vision Transformers", CVPR 2024): the RMT and RMT-Swin
backbones, their layers, and the official classifier's neck."""
from .block import RMTBlock
from .cls_neck import RMTClsNeck
from .conv_ffn import ConvFFN
from .dwconv import DWConv2d
from .patch_merging import ConvPatchMerging
from .retention import RetentionRelPos2d, VisionRetention, row_column_retention, whole_map_retention
from .rmt import RMT
from .rmt_swin import RMTSwin
from .stage import RMTStage
from .stem import RMTStem, RMTSwinStem

__all__ = ['RMT', 'ConvFFN', 'ConvPatchMerging', 'DWConv2d', 'RMTBlock', 'RMTClsNeck', 'RMTStage',
           'RMTStem', 'RMTSwin', 'RMTSwinStem', 'RetentionRelPos2d', 'VisionRetention',
           'row_column_retention', 'whole_map_retention']
