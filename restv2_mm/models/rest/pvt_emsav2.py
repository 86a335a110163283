"""PVT-EMSAv2: mmdet's PVT (v1) with EMSAv2's upsampling branch in every attention (ResTv2
appendix A, "PVT-EMSAv2-Tiny†"). Needs mmdet (an optional dependency of restv2-mm)."""
from typing import Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones.pvt import PyramidVisionTransformer, SpatialReductionAttention, pvt_convert
from torch import nn

from ...ops import attention
from ...utils.torch_compat import is_compiling
from ..common import (
                      NORM_CFG,
                      PixelShuffleUp,
                      load_pretrained,
                      require_checkpoint,
                      to_map,
                      to_tokens,
                      upsample,
)
from ..common.input_check import check_pvt_input_size, match_input_dtype


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
        self.up = PixelShuffleUp(embed_dims, sr_ratio)
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
        up = upsample(kv[..., c:], reduced_shape, hw_shape, self.up)
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
        self.register_forward_pre_hook(match_input_dtype)  # as the data preprocessors cast
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

    # What a checkpoint may hold beyond this backbone's keys; it may lack none (see
    # MultiScaleBackbone.checkpoint_ignored). PVT has no BatchNorm.
    checkpoint_ignored = {r'head\.': "the ImageNet classifier's head of an mmdet-converted checkpoint"}
    checkpoint_optional: dict = {}

    def _param_position(self, name: str):
        """(stage 1..4, block index or 'first'/'last') of ``layers.{i}.{0: patch embedding,
        1: blocks, 2: norm}`` keys, for the per-stage messages of a checkpoint that does not fit."""
        parts = name.split('.')
        if parts[0] != 'layers' or len(parts) < 3 or not parts[1].isdigit():
            return None
        stage, part = int(parts[1]) + 1, parts[2]
        if part == '1' and len(parts) > 3 and parts[3].isdigit():
            return stage, int(parts[3])
        return stage, 'first' if part == '0' else 'last'

    def init_weights(self) -> None:
        """mmdet's PVT initialisation; with ``init_cfg=dict(type='Pretrained', checkpoint=PATH,
        strict=True, weights='model')`` the checkpoint (an official PVT one is converted by mmdet's
        ``pvt_convert``) must fit exactly, as for the other backbones (:func:`load_pretrained`).

        Raises:
            RuntimeError: a checkpoint that does not fit (keys by stage, ``strict=False``).
        """
        cfg = self.init_cfg
        if cfg is None or cfg.get('type') != 'Pretrained':
            super().init_weights()
            return
        path = require_checkpoint(cfg, 'model.backbone')

        def convert(state: dict) -> dict:
            official = any(k.startswith(('patch_embed1.', 'block1.')) for k in state)
            return pvt_convert(state) if official and self.convert_weights else state

        load_pretrained(self, path, prefix=cfg.get('prefix'), weights=cfg.get('weights', 'model'),
                        convert=convert, strict=cfg.get('strict', True),
                        allow_non_finite=cfg.get('allow_non_finite'))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if isinstance(x, torch.Tensor) and not is_compiling() and not torch.jit.is_tracing():
            check_pvt_input_size(self, tuple(x.shape))
        return tuple(super().forward(x))
