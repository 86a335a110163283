"""EMSAv2: EMSA with an upsampling branch (ResTv2 section 3.2, eq. 2, Figure 2)."""
from typing import Tuple

import torch
from mmcv.cnn import build_norm_layer

from ..common.defaults import NORM_CFG
from ..common.upsample import PixelShuffleUp, upsample
from .emsa import EMSA


class EMSAv2(EMSA):
    """EMSAv2 (ResTv2 section 3.2, eq. 2, Figure 2):
    ``proj(Softmax(QK^T / sqrt(d)) V + LN(Up(V)))``.

    :class:`EMSA`'s reduction of keys and values, without its multi-head interaction (appendix B
    adds it back: ``mhim=True``), plus ``Up``: a depth-wise 3x3 conv from C to r*r*C followed by
    PixelShuffle(r) (:class:`~restv2_mm.models.common.PixelShuffleUp`), applied to V laid out as
    a (N, C, ceil(H/r), ceil(W/r)) map, cropped to H x W, then a LayerNorm. Module names follow
    the official release (``q``, ``kv``, ``sr``, ``sr_norm``, ``up.0``, ``up_norm``, ``proj``);
    for H, W divisible by r this is exactly the official computation. The paper's ablations of
    this module are subclasses in :mod:`.ablations`.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads k; C must be divisible by k.
        sr_ratio (int): Spatial reduction ratio r >= 1 of keys and values, and the scale of Up.
        qkv_bias (bool): Bias in the ``q``/``kv`` linears. Default: True.
        attn_drop (float): Dropout on attention weights (training only). Default: 0.
        proj_drop (float): Dropout after ``proj``. Default: 0.
        norm_cfg (dict): Norm of the reduced tokens and of the upsampled map.
            Default: ``dict(type='LN', eps=1e-6)``.
        mhim (bool): ResTv1's multi-head interaction where k > 1 (appendix B). Default: False.

    Shape:
        x: (N, H*W, C) tokens in row-major order; hw_shape: (H, W). Returns (N, H*W, C).

    Raises:
        ValueError / TypeError: as :class:`EMSA`.
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0., norm_cfg: dict = NORM_CFG,
                 mhim: bool = False):
        super().__init__(embed_dims, num_heads, sr_ratio, qkv_bias=qkv_bias, attn_drop=attn_drop,
                         proj_drop=proj_drop, norm_cfg=norm_cfg, mhim=mhim)

    def _build_up(self, embed_dims: int, sr_ratio: int, norm_cfg: dict) -> None:
        self.up = PixelShuffleUp(embed_dims, sr_ratio)
        self.up_norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def up_branch(self, tokens: torch.Tensor, reduced_shape: Tuple[int, int],
                  hw_shape: Tuple[int, int]) -> torch.Tensor:
        """``LN(Up(tokens))`` cropped to ``hw_shape``: (N, L', C) -> (N, H*W, C)."""
        return self.up_norm(upsample(tokens, reduced_shape, hw_shape, self.up))

    def up_input(self, reduced: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """What ``Up`` upsamples: V (Table 2a's ablations take K or ``x'``)."""
        return v

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        reduced, reduced_shape = self.reduce(x, hw_shape)
        k, v = self.kv(reduced).chunk(2, dim=-1)  # K then V, channels head-major
        out = self.attend(self.q(x), k, v) + \
            self.up_branch(self.up_input(reduced, k, v), reduced_shape, hw_shape)
        return self.proj_drop(self.proj(out))
