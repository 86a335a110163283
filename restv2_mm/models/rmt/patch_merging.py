"""The stride-2 downsampling between stages: ResTv2's patch embedding (appendix D, Table 4) and
RMT's patch merging (official code)."""
from typing import Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from ..common.defaults import CONV_NORM_CFG, NORM_CFG
from ..common.grad_checkpoint import checkpointed
from ..common.layout import to_tokens
from ..rest.position import build_position


class PatchEmbed(nn.Module):
    """Stride-2 patch embedding: Conv3x3-s2-p1, PA, LN (appendix D, Table 4).

    Module names follow the official release (``proj``, ``pos.pa_conv``, ``norm``).

    Args:
        in_channels (int): Channels of the previous stage.
        embed_dims (int): Channels of the next stage.
        norm_cfg (dict): Norm of the output tokens. Default: ``dict(type='LN', eps=1e-6)``.
        pos_embed (str): The ``pos`` layer (appendix E): ``'pa'`` (default), ``'peg'``, ``'ape'``,
            or none for ``'none'`` and ``'rpe'``; see :func:`.position.build_position`.
        pos_size (tuple[int, int], optional): Output map size at the pre-training input, which
            sizes APE.

    Shape:
        (N, in_channels, H, W) -> tokens (N, H' * W', embed_dims) with H' = ceil(H/2), and (H', W').
    """

    def __init__(self, in_channels: int, embed_dims: int, norm_cfg: dict = NORM_CFG,
                 pos_embed: str = 'pa', pos_size: Optional[Tuple[int, int]] = None):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=2, padding=1)
        self.pos = build_position(pos_embed, embed_dims, pos_size)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor,
                with_cp: bool = False) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """``with_cp`` recomputes this embedding in backward instead of keeping its activations."""
        return checkpointed(self._embed, x, with_cp=with_cp)

    def _embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        x = self.proj(x)
        x, hw_shape = to_tokens(x if self.pos is None else self.pos(x))
        return self.norm(x), hw_shape


class ConvPatchMerging(nn.Module):
    """RMT's downsampling between stages: Conv3x3-s2-p1 then a BatchNorm, on channels-last maps
    (official ``PatchMerging`` of ``classfication_release/RMT.py``; names ``reduction``, ``norm``).

    Args:
        in_channels (int): Channels of the previous stage.
        embed_dims (int): Channels of the next stage.
        conv_norm_cfg (dict): The norm. Default: ``dict(type='BN')`` (official detection and
            segmentation code: SyncBN).

    Shape:
        (N, H, W, in_channels) -> (N, ceil(H/2), ceil(W/2), embed_dims).
    """

    def __init__(self, in_channels: int, embed_dims: int, conv_norm_cfg: dict = CONV_NORM_CFG):
        super().__init__()
        self.reduction = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=2, padding=1)
        self.norm = build_norm_layer(conv_norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.reduction(x.permute(0, 3, 1, 2))).permute(0, 2, 3, 1)
