"""The ResTv1 backbone ("ResT: An Efficient Transformer for Visual Recognition", NeurIPS 2021),
the model ResTv2 is built from (ResTv2 section 3.1)."""
from typing import Optional, Sequence, Union

from torch import nn

from ..common import ACT_CFG, CONV_NORM_CFG, check_norm_cfg
from .ablations import check_switches
from .base import ResTBase
from .patch_embed import ResTv1PatchEmbed
from .stem import ResTv1Stem

# Every LayerNorm of the official ResTv1 (models/rest.py: nn.LayerNorm's default eps).
V1_NORM_CFG = dict(type='LN', eps=1e-5)


class ResTv1(ResTBase):
    """ResTv1 backbone with multi-scale outputs, as released in github.com/wofmanaf/ResT
    (``models/rest.py``; official checkpoints load unchanged, under ``model``).

    A BatchNorm stem (:class:`~restv2_mm.models.rest.ResTv1Stem`, stride 4) and three stride-2
    BatchNorm patch embeddings (``patch_embed_{2,3,4}``), each with PA and no LayerNorm, then
    stages of blocks with ResTv1's :class:`~restv2_mm.models.rest.EMSA` (no upsampling branch;
    the multi-head interaction, ``transform_conv`` + InstanceNorm on the attention map, where a
    stage has more than one head; it runs the explicit attention matmuls). All archs have
    ``qkv_bias=True``, MLP ratio 4, heads {1, 2, 4, 8} and reduction ratios {8, 4, 2, 1}.
    Each requested output goes through its own LayerNorm, ``norm{i}`` (official final ``norm`` is
    ``norm3``).

    Args:
        arch (str | dict): ``'lite'`` (C = 64, blocks {2, 2, 2, 2}), ``'small'|'s'`` (64,
            {2, 2, 6, 2}), ``'base'|'b'`` (96, {2, 2, 6, 2}), ``'large'|'l'`` (96, {2, 2, 18, 2}),
            or a dict with ``embed_dims``, ``depths``, ``num_heads``, ``sr_ratios``.
            Default: ``'lite'``.
        in_channels (int): Input image channels. Default: 3.
        out_indices (Sequence[int]): Stages (0..3) whose features are returned.
            Default: (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth rate, linear over all blocks from 0. Default: 0.
        qkv_bias (bool): Bias in ``q``/``kv``. Default: True (every official arch).
        mlp_ratio (float): MLP hidden width over channels. Default: 4.
        frozen_stages (int): As :class:`~restv2_mm.models.MultiScaleBackbone`. Default: -1.
        norm_eval (bool): Keep the BatchNorms in eval mode while training. Default: False.
        norm_cfg (dict): Every LayerNorm (blocks, ``sr_norm``, output norms).
            Default: ``dict(type='LN', eps=1e-5)``, the official one.
        act_cfg (dict): MLP activation. Default: ``dict(type='GELU')``.
        conv_norm_cfg (dict): The BatchNorms of the stem and the patch embeddings.
            Default: ``dict(type='BN')``.
        with_cp (bool | str): Gradient checkpointing of every block, and of the stem's and patch
            embeddings' part after their last BatchNorm: False, True or ``'full'``, or
            ``'selective'`` (see :class:`~restv2_mm.models.MultiScaleBackbone`). Default: False.
        up_target (str): ``'none'`` (default, ResTv1) or ``'v'``, ``'k'``, ``'x'``: ResTv2's
            upsampling branch added to EMSA (appendix A's "ResTv1 with upsampling" read
            literally; the paper's ResTv1-EMSAv2-Lite figures are ``ResTv2('lite', mhim=True)``).
        up_mode (str): ``'pixel_shuffle'`` (default), ``'nearest'`` or ``'bilinear'``.
        mhim (bool): Multi-head interaction. Default: True (ResTv1's ``apply_transform``).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an official
            ResTv1 checkpoint; without it the official random initialisation is applied.

    Shape:
        Input (N, in_channels, H, W), any H, W >= 1 (the official code needs every stage's map
        even but the last), float. Output: tuple of (N, embed_dims[i], H_i, W_i) with
        H_0 = ceil(ceil(H/2)/2), H_{i+1} = ceil(H_i/2).

    Raises:
        ValueError / TypeError: as :class:`~restv2_mm.models.ResTv2` for the shared arguments.
    """

    arch_zoo = {
        'lite': dict(embed_dims=[64, 128, 256, 512], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                     sr_ratios=[8, 4, 2, 1]),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[64, 128, 256, 512], depths=[2, 2, 6, 2], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[96, 192, 384, 768], depths=[2, 2, 6, 2], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'sr_ratios')
    # The official names of the stem and patch embeddings (models/rest.py).
    embed_names = ('stem', 'patch_embed_2', 'patch_embed_3', 'patch_embed_4')
    zero_conv_bias = False
    # ResTv1's stem is conv1/conv2/conv3 (models/rest.py); ResTv2's a proj Sequential.
    official_prefixes = ('stem.conv1.', )

    def __init__(self,
                 arch: Union[str, dict] = 'lite',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 mlp_ratio: float = 4.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = V1_NORM_CFG,
                 act_cfg: dict = ACT_CFG,
                 conv_norm_cfg: dict = CONV_NORM_CFG,
                 with_cp: Union[bool, str] = False,
                 up_target: str = 'none',
                 up_mode: str = 'pixel_shuffle',
                 mhim: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, in_channels=in_channels, out_indices=out_indices,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         drop_path_rate=drop_path_rate, init_cfg=init_cfg)
        check_norm_cfg(norm_cfg)
        check_switches(up_target, up_mode, mhim=mhim)
        dims = self.embed_dims

        def embed(i: int) -> nn.Module:  # the stem (stride 4), then stride-2 patch embeddings
            if i == 0:
                return ResTv1Stem(in_channels=in_channels, embed_dims=dims[0],
                                  conv_norm_cfg=conv_norm_cfg)
            return ResTv1PatchEmbed(in_channels=dims[i - 1], embed_dims=dims[i],
                                    conv_norm_cfg=conv_norm_cfg)

        attn_cfg = dict(up_target=up_target, up_mode=up_mode, mhim=mhim)
        self._build_stages(embed, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, norm_cfg=norm_cfg,
                           act_cfg=act_cfg, attn_cfg=lambda i: attn_cfg)
