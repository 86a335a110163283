"""One RMT stage (official ``BasicLayer``): decay tables, retention blocks, patch merging."""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..common import ACT_CFG, CONV_NORM_CFG, NORM_CFG, recomputed
from .block import RMTBlock
from .patch_merging import ConvPatchMerging
from .retention import RetentionRelPos2d, compute_dtype


class RMTStage(nn.Module):
    """One RMT stage (official ``BasicLayer``): the stage's decay and rotary tables (``Relpos``),
    its blocks, and the patch merging into the next stage (``downsample``; None in the last).

    Args:
        embed_dims (int): Channels C.
        out_dims (int, optional): Channels of the next stage; None: no downsampling.
        depth (int): Blocks.
        num_heads (int): Retention heads.
        init_value (float): a of the decay range (supplement Table 4).
        heads_range (float): b - a.
        mlp_ratio (float): FFN width over C.
        decomposed (bool): Decomposed retention (official ``chunkwise_recurrent``).
        drop_paths (Sequence[float]): Stochastic depth of each block (``depth`` rates).
        layer_scale_init (float, optional): Layer-scale start value, None for none.
        decay_exponent (float): gamma ** e (supplement C). Default: 1.
        norm_cfg, act_cfg, conv_norm_cfg (dict): As :class:`~restv2_mm.models.RMT`.

    Raises:
        ValueError: ``drop_paths`` does not hold ``depth`` rates; see also
            :class:`RetentionRelPos2d`.

    Shape:
        (B, H, W, C) -> ((B, H, W, C), (B, ceil(H/2), ceil(W/2), out_dims)), the second the first
        where there is no downsampling.
    """

    def __init__(self, *, embed_dims: int, out_dims: Optional[int], depth: int, num_heads: int,
                 init_value: float, heads_range: float, mlp_ratio: float, decomposed: bool,
                 drop_paths: Sequence[float], layer_scale_init: Optional[float],
                 decay_exponent: float = 1., norm_cfg: dict = NORM_CFG, act_cfg: dict = ACT_CFG,
                 conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        if len(drop_paths) != depth:
            raise ValueError(f'drop_paths must hold one rate per block ({depth}), '
                             f'got {len(drop_paths)}')
        self.decomposed = decomposed
        self.Relpos = RetentionRelPos2d(embed_dims=embed_dims, num_heads=num_heads,
                                        init_value=init_value, heads_range=heads_range,
                                        decay_exponent=decay_exponent)
        self.blocks = nn.ModuleList(
            RMTBlock(embed_dims=embed_dims, num_heads=num_heads, mlp_ratio=mlp_ratio,
                     decomposed=decomposed, drop_path=drop_path,
                     layer_scale_init=layer_scale_init, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for drop_path in drop_paths)
        self.downsample = None if out_dims is None else ConvPatchMerging(
            in_channels=embed_dims, embed_dims=out_dims, conv_norm_cfg=conv_norm_cfg)

    def forward(self, x: torch.Tensor,
                with_cp: Union[bool, str] = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """``with_cp`` recomputes each block in backward (:func:`~..common.recomputed`)."""
        # One set of tables for all blocks, in the compute dtype (autocast's where it is on).
        rel_pos = self.Relpos(x.shape[1:3], self.decomposed, compute_dtype(x))
        for blk in self.blocks:
            x = recomputed(blk, x, rel_pos, with_cp=with_cp)
        return x, (x if self.downsample is None else self.downsample(x))
