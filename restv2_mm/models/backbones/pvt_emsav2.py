"""PVT-EMSAv2: mmdet's PVT (v1) with EMSAv2's upsampling branch in every attention (ResTv2
appendix A, "PVT-EMSAv2-Tiny†"). Needs mmdet (an optional dependency of restv2-mm)."""
from typing import Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones.pvt import PyramidVisionTransformer, SpatialReductionAttention
from torch import nn

from ...ops import attention
from ..layers import NORM_CFG, build_upsample, to_map, to_tokens, upsample


class SRAUp(SpatialReductionAttention):
    """PVT's spatial-reduction attention plus ``Up(V)`` (ResTv2 eq. 2 on SRA):
    ``out_proj(Softmax(QK^T / sqrt(d)) V + up_norm(PixelShuffle(DWConv3x3(V))))``.

    The wrapped ``nn.MultiheadAttention`` (``attn.attn``) keeps its parameters, so PVT
    checkpoints load with only ``up.0.*`` and ``up_norm.*`` missing; its forward is bypassed,
    because V must be taken out between the projections: Q, K and V come from slices of
    ``in_proj_weight``/``in_proj_bias``, attention runs through :func:`restv2_mm.ops.attention`,
    and ``out_proj`` is applied once to the sum. With the branch's output zero it equals SRA.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads.
        sr_ratio (int): Spatial reduction ratio r (PVT: a conv with kernel and stride r).
        norm_cfg (dict): Norm of ``sr`` and ``up_norm``. Default: ``dict(type='LN', eps=1e-6)``.
        **kwargs: The other :class:`SpatialReductionAttention` arguments.

    Shape:
        x (N, H*W, C), hw_shape (H, W), identity (N, H*W, C) or None (x) -> (N, H*W, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int = 1,
                 norm_cfg: dict = NORM_CFG, **kwargs):
        super().__init__(embed_dims, num_heads, sr_ratio=sr_ratio, norm_cfg=norm_cfg, **kwargs)
        if not self.batch_first:
            raise ValueError('SRAUp needs batch_first=True (as PVT builds it)')
        self.up = build_upsample(embed_dims, sr_ratio, 'pixel_shuffle')
        self.up_norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor, hw_shape, identity=None) -> torch.Tensor:
        n, length, c = x.shape
        heads = self.num_heads
        reduced, reduced_shape = x, hw_shape
        if self.sr_ratio > 1:
            reduced, reduced_shape = to_tokens(self.sr(to_map(x, hw_shape)))
            reduced = self.norm(reduced)
        mha = self.attn
        w, b = mha.in_proj_weight, mha.in_proj_bias
        q = nn.functional.linear(x, w[:c], None if b is None else b[:c])
        kv = nn.functional.linear(reduced, w[c:], None if b is None else b[c:])

        def split(t):
            return t.reshape(n, -1, heads, c // heads).transpose(1, 2)

        out = attention(split(q), split(kv[..., :c]), split(kv[..., c:]),
                        dropout_p=mha.dropout if self.training else 0.)
        out = out.transpose(1, 2).reshape(n, length, c)
        up = upsample(kv[..., c:], reduced_shape, hw_shape, self.sr_ratio, self.up,
                      'pixel_shuffle')
        out = mha.out_proj(out + self.up_norm(up))
        return (x if identity is None else identity) + self.dropout_layer(self.proj_drop(out))


class PVTEMSAv2(PyramidVisionTransformer):
    """mmdet's :class:`PyramidVisionTransformer` with :class:`SRAUp` in every encoder layer.

    PVT builds its attentions inline (no attention config), so they are swapped after
    construction; every other argument is PVT's (PVT-Tiny: ``num_layers=[2, 2, 2, 2]``). mmdet's
    ``init_weights`` initialises the new conv and LayerNorm with the others. Outputs are a tuple
    (mmdet's PVT returns a list, which mmpretrain's necks refuse).

    Args:
        up_target (str): ``'v'`` (default): the upsampling branch on V; ``'none'``: mmdet's PVT
            unchanged (same modules and state dict), the baseline of appendix A.
        **kwargs: :class:`PyramidVisionTransformer`'s arguments.

    Raises:
        ValueError: ``up_target`` is not ``'v'`` or ``'none'``.
    """

    def __init__(self, up_target: str = 'v', **kwargs):
        if up_target not in ('v', 'none'):
            raise ValueError(f"up_target must be 'v' (PVT-EMSAv2) or 'none' (PVT) for PVTEMSAv2, "
                             f'got {up_target!r}')
        super().__init__(**kwargs)
        self.up_target = up_target
        norm_cfg = kwargs.get('norm_cfg', NORM_CFG)
        for stage in self.layers if up_target == 'v' else ():
            for layer in stage[1]:
                if not isinstance(getattr(layer, 'attn', None), SpatialReductionAttention):
                    continue  # the AbsolutePositionEmbedding entries
                old = layer.attn
                new = SRAUp(old.embed_dims, old.num_heads, sr_ratio=old.sr_ratio,
                            attn_drop=old.attn.dropout, batch_first=old.batch_first,
                            qkv_bias=old.attn.in_proj_bias is not None, norm_cfg=norm_cfg)
                new.proj_drop, new.dropout_layer = old.proj_drop, old.dropout_layer
                layer.attn = new

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(super().forward(x))
