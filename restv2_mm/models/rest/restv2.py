"""The ResTv2 backbone ("ResT V2: Simpler, Faster and Stronger", NeurIPS 2022)."""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model.weight_init import constant_init
from torch import nn

from ..common import ACT_CFG, CONV_NORM_CFG, NORM_CFG, check_norm_cfg, to_tokens
from .ablations import check_switches
from .base import ResTBase
from .patch_embed import PatchEmbed
from .position import check_pos_embed
from .stem import ConvStem

STYLES = ('global', 'win', 'cwin', 'hwin')


class ResTv2(ResTBase):
    """ResTv2 backbone with multi-scale outputs (paper section 3, appendix D).

    A convolutional stem (stride 4) and three stride-2 patch embeddings, each followed by a stage
    of EMSAv2 blocks. Stage i (0-based) has ``embed_dims[i]`` channels and stride ``4 * 2**i``.
    Each requested output goes through its own LayerNorm over channels, ``norm{i}``; the official
    final ``norm`` becomes ``norm3`` when a checkpoint is loaded.

    The paper's ablations (Table 2, appendices B and E) are arguments, settable from a config
    (``model.backbone.up_mode='nearest'``); their defaults are the released model, state dict
    included. ``up_target``, ``up_mode``, ``branches``, ``mhim`` and ``pos_embed='rpe'`` choose
    every block's attention (:func:`~restv2_mm.models.rest.build_emsa`: EMSAv2 or one of its
    ablations); ``pos_embed`` also goes to the stem and the patch embeddings.

    Args:
        arch (str | dict): ``'tiny'|'t'``, ``'small'|'s'``, ``'base'|'b'``, ``'large'|'l'``
            (section 3.3), ``'lite'`` (appendix B: C = 64, blocks {2, 2, 2, 2}), or a dict with
            ``embed_dims``, ``depths``, ``num_heads`` and ``sr_ratios`` (4 ints each; Table 2c's
            ConvNetv2 is tiny with depths {2, 3, 6, 2}). Default: ``'tiny'``.
        in_channels (int): Input image channels. Default: 3.
        out_indices (Sequence[int]): Stages (0..3) whose features are returned.
            Default: (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth rate, linearly increased over all blocks from 0.
            Default: 0.
        qkv_bias (bool): Bias in the ``q``/``kv`` linears (the official models have it).
            Default: True.
        mlp_ratio (float): MLP hidden width over channels. Default: 4.
        frozen_stages (int): -1 freezes nothing; 0 freezes the stem; i in 1..4 freezes the stem and
            stages 1..i with their patch embeddings (parameters without grad, modules in eval mode).
            The per-output norms stay trainable. Default: -1.
        norm_eval (bool): Keep the stem's BatchNorm layers in eval mode while training. Default: False.
        norm_cfg (dict): Norm of the transformer parts (every LayerNorm: blocks, EMSAv2, stem and
            patch-embedding outputs, output norms). Default: ``dict(type='LN', eps=1e-6)``, the
            official one.
        act_cfg (dict): MLP activation. Default: ``dict(type='GELU')``.
        conv_norm_cfg (dict): Norm of the stem's two 3x3 convs. Default: ``dict(type='BN')``;
            ``dict(type='SyncBN')`` synchronises its statistics across GPUs.
        with_cp (bool | str): Gradient checkpointing of every block and patch embedding, and of
            the stem after its last BatchNorm (saves memory, costs a second forward): False, True
            or ``'full'`` (recompute everything), or ``'selective'`` (keep the matmul and
            attention outputs; see :class:`~restv2_mm.models.MultiScaleBackbone`). Default: False.
        style (str): Fine-tuning style of paper 5.1 / Table 3. ``'global'`` (default): EMSAv2 over
            the whole map (section 3.2). ``'win'``: every block's EMSAv2 inside non-overlapping
            windows. ``'cwin'``: ``'win'`` plus a residual 7x7 depth-wise conv after the last block
            of each stage (``cwin_conv{i}``, zero-initialised so that CWin starts equal to Win).
            ``'hwin'``: windows in all blocks but the last of each stage, which stays global.
            Win and HWin add no parameters, so Global checkpoints load into every style.
        window_size (int | Sequence[int]): Window side in tokens per stage, used by the window
            styles. Default: (64, 32, 16, 8) (paper 5.1).
        up_target (str): Table 2a: ``'v'`` (default), ``'k'``, ``'x'`` or ``'none'``.
        up_mode (str): Table 2b: ``'pixel_shuffle'`` (default), ``'nearest'``, ``'bilinear'``.
        branches (str): Table 2c: ``'both'`` (default), ``'attn'`` (EMSA alone) or ``'conv'``
            (the downsample-upsample ConvNet alone).
        mhim (bool): Appendix B: ResTv1's multi-head interaction in every EMSAv2 with more than
            one head (explicit attention there). Default: False.
        pos_embed (str): Table 2d / appendix E: ``'pa'`` (default), ``'peg'``, ``'ape'``,
            ``'rpe'`` or ``'none'``.
        pretrain_img_size (int | tuple[int, int]): Input size (H, W) the APE and RPE tables are
            made for; other sizes resize them. Default: 224.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH, weights='model')``
            loads an official ImageNet checkpoint (or a converted / mmpretrain one, ``prefix``
            optional; ``weights='ema'`` for the EMA weights); see
            :meth:`MultiScaleBackbone.init_weights`. Without it, the official initialisation
            (trunc-normal std 0.02 on every Linear and Conv2d weight, zero biases, norms 1/0) is
            applied and a warning says the backbone is not pretrained.

    Shape:
        Input (N, in_channels, H, W), any H, W >= 1, float. Output: tuple of (N, embed_dims[i],
        H_i, W_i) for i in ``out_indices`` in stage order, with H_0 = ceil(ceil(H/2)/2),
        H_{i+1} = ceil(H_i/2).

    Raises:
        ValueError / TypeError: for an unknown ``arch``, a malformed arch dict, ``out_indices`` or
            ``frozen_stages`` out of range, a bad ``style`` or ``window_size``, a BatchNorm given as
            ``norm_cfg``, unknown or conflicting ablation switches, a bad ``pretrain_img_size``, or
            an input that is not a 4-D float tensor with ``in_channels`` channels, or that holds
            NaN/Inf (:meth:`MultiScaleBackbone.check_input`). Each message names the argument and
            the expected value.
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=[96, 192, 384, 768], depths=[1, 2, 6, 2], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[96, 192, 384, 768], depths=[1, 2, 12, 2], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[96, 192, 384, 768], depths=[1, 3, 16, 3], num_heads=[1, 2, 4, 8],
            sr_ratios=[8, 4, 2, 1])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[128, 256, 512, 1024], depths=[2, 3, 16, 2], num_heads=[2, 4, 8, 16],
            sr_ratios=[8, 4, 2, 1])),
        'lite': dict(embed_dims=[64, 128, 256, 512], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                     sr_ratios=[8, 4, 2, 1]),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'sr_ratios')
    # CWin's residual depth-wise convs after each stage's blocks (style='cwin' only).
    extra_names = ('cwin_conv1', 'cwin_conv2', 'cwin_conv3', 'cwin_conv4')
    checkpoint_optional = {
        **ResTBase.checkpoint_optional,
        r'cwin_conv[1-4]\.': "CWin's depth-wise 7x7 convs (paper 5.1), added for fine-tuning and "
                             'zero-initialised: an ImageNet (Global) checkpoint has none',
    }

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 mlp_ratio: float = 4.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = NORM_CFG,
                 act_cfg: dict = ACT_CFG,
                 conv_norm_cfg: dict = CONV_NORM_CFG,
                 with_cp: Union[bool, str] = False,
                 style: str = 'global',
                 window_size: Union[int, Sequence[int]] = (64, 32, 16, 8),
                 up_target: str = 'v',
                 up_mode: str = 'pixel_shuffle',
                 branches: str = 'both',
                 mhim: bool = False,
                 pos_embed: str = 'pa',
                 pretrain_img_size: Union[int, Sequence[int]] = 224,
                 init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, in_channels=in_channels, out_indices=out_indices,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         drop_path_rate=drop_path_rate, init_cfg=init_cfg)
        check_norm_cfg(norm_cfg)
        if style not in STYLES:
            raise ValueError(f'style must be one of {STYLES}, got {style!r}')
        check_pos_embed(pos_embed)
        check_switches(up_target, up_mode, branches, mhim, rpe=pos_embed == 'rpe')
        self.style = style
        self.window_size = self._parse_window_size(window_size)
        sizes = stage_sizes(pretrain_img_size)  # at the pre-training input: APE and RPE tables
        dims, depths = self.embed_dims, self.arch_settings['depths']

        def embed(i: int) -> nn.Module:  # the stem (stride 4), then stride-2 patch embeddings
            if i == 0:
                return ConvStem(in_channels=in_channels, embed_dims=dims[0],
                                conv_norm_cfg=conv_norm_cfg, norm_cfg=norm_cfg,
                                pos_embed=pos_embed, pos_size=sizes[0])
            return PatchEmbed(in_channels=dims[i - 1], embed_dims=dims[i], norm_cfg=norm_cfg,
                              pos_embed=pos_embed, pos_size=sizes[i])

        def cwin_conv(i: int) -> Optional[nn.Module]:  # CWin's residual conv after the blocks
            if style != 'cwin':
                return None
            return nn.Conv2d(dims[i], dims[i], kernel_size=7, padding=3, groups=dims[i])

        self._build_stages(
            embed, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, norm_cfg=norm_cfg, act_cfg=act_cfg,
            attn_cfg=lambda i: dict(up_target=up_target, up_mode=up_mode, branches=branches,
                                    mhim=mhim, rpe_size=sizes[i] if pos_embed == 'rpe' else None),
            window_size=lambda i, j: self._block_window(i, j, depths[i]), extra=cwin_conv)

    # ----------------------------------------------------------------------------- arguments
    @classmethod
    def _parse_window_size(cls, window_size) -> Tuple[int, ...]:
        n = cls.num_stages
        sizes = (window_size, ) * n if isinstance(window_size, int) else window_size
        if (not isinstance(sizes, (list, tuple)) or len(sizes) != n
                or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                           for s in sizes)):
            raise ValueError(f'window_size must be a positive int or {n} positive ints '
                             f'(one per stage), got {window_size!r}')
        return tuple(sizes)

    def _block_window(self, stage: int, index: int, depth: int) -> Optional[int]:
        """Window side of block ``index`` of ``stage``, or None for global attention."""
        if self.style == 'global' or (self.style == 'hwin' and index == depth - 1):
            return None
        return self.window_size[stage]

    # ----------------------------------------------------------------------------- family hooks
    def _init_extras(self) -> None:
        # Zero residual convs: a CWin model starts exactly equal to Win (and to its checkpoint).
        for name in self.extra_names:
            if hasattr(self, name):
                constant_init(getattr(self, name), val=0., bias=0.)

    def _stage_end(self, i: int, x: torch.Tensor,
                   tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.style == 'cwin':
            x = x + getattr(self, self.extra_names[i])(x)
            tokens = to_tokens(x)[0]
        return x, tokens


def stage_sizes(img_size: Union[int, Sequence[int]]) -> List[Tuple[int, int]]:
    """(H_i, W_i) of the four stages for an input of ``img_size`` (int or (H, W)): the stem's
    two stride-2 convs, then one per patch embedding, each ceil(size / 2).

    Raises:
        ValueError: ``img_size`` is not a positive int or two of them (named
            ``pretrain_img_size``).
    """
    size = (img_size, img_size) if isinstance(img_size, int) else img_size
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)):
        raise ValueError(f'pretrain_img_size must be a positive int or (H, W), got {img_size!r}')
    h, w = (math.ceil(math.ceil(s / 2) / 2) for s in size)
    sizes = [(h, w)]
    for _ in range(3):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes.append((h, w))
    return sizes
