"""The ResTv2 backbone ("ResT V2: Simpler, Faster and Stronger", NeurIPS 2022)."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import (
    ACT_CFG,
    CONV_NORM_CFG,
    NORM_CFG,
    ConvStem,
    PatchEmbed,
    ResTv2Block,
    checkpointed,
    to_map,
    to_tokens,
)
from .base import MultiScaleBackbone, check_norm_cfg

STYLES = ('global', 'win', 'cwin', 'hwin')


class ResTv2(MultiScaleBackbone):
    """ResTv2 backbone with multi-scale outputs (paper section 3, appendix D).

    A convolutional stem (stride 4) and three stride-2 patch embeddings, each followed by a stage
    of EMSAv2 blocks. Stage i (0-based) has ``embed_dims[i]`` channels and stride ``4 * 2**i``.
    Each requested output goes through its own LayerNorm over channels, ``norm{i}``; the official
    final ``norm`` becomes ``norm3`` when a checkpoint is loaded.

    Args:
        arch (str | dict): ``'tiny'|'t'``, ``'small'|'s'``, ``'base'|'b'``, ``'large'|'l'``
            (section 3.3), or a dict with ``embed_dims``, ``depths``, ``num_heads`` and
            ``sr_ratios`` (4 ints each). Default: ``'tiny'``.
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
        with_cp (bool): Gradient checkpointing of every block and patch embedding, and of the
            stem after its last BatchNorm (saves memory, costs a second forward). Default: False.
        style (str): Fine-tuning style of paper 5.1 / Table 3. ``'global'`` (default): EMSAv2 over
            the whole map (section 3.2). ``'win'``: every block's EMSAv2 inside non-overlapping
            windows. ``'cwin'``: ``'win'`` plus a residual 7x7 depth-wise conv after the last block
            of each stage (``cwin_conv{i}``, zero-initialised so that CWin starts equal to Win).
            ``'hwin'``: windows in all blocks but the last of each stage, which stays global.
            Win and HWin add no parameters, so Global checkpoints load into every style.
        window_size (int | Sequence[int]): Window side in tokens per stage, used by the window
            styles. Default: (64, 32, 16, 8) (paper 5.1).
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
            ``norm_cfg``, or an input that is not a 4-D float tensor with ``in_channels`` channels,
            or that holds NaN/Inf (:meth:`MultiScaleBackbone.check_input`). Each message names the
            argument and the expected value.
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
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'sr_ratios')
    official_prefixes = ('stem.', 'stage1.')

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
                 with_cp: bool = False,
                 style: str = 'global',
                 window_size: Union[int, Sequence[int]] = (64, 32, 16, 8),
                 init_cfg: Optional[dict] = None):
        super().__init__(arch, in_channels, out_indices, frozen_stages, norm_eval, with_cp,
                         drop_path_rate, init_cfg)
        check_norm_cfg(norm_cfg)
        if style not in STYLES:
            raise ValueError(f'style must be one of {STYLES}, got {style!r}')
        self.style = style
        self.window_size = self._parse_window_size(window_size)
        settings = self.arch_settings
        depths, dims = settings['depths'], self.embed_dims

        self.stem = ConvStem(in_channels, dims[0], conv_norm_cfg=conv_norm_cfg, norm_cfg=norm_cfg)
        dpr = self.drop_path_rates()
        cur = 0
        for i in range(self.num_stages):
            if i > 0:
                self.add_module(f'patch_{i + 1}', PatchEmbed(dims[i - 1], dims[i], norm_cfg))
            blocks = nn.ModuleList(
                ResTv2Block(dims[i], settings['num_heads'][i], settings['sr_ratios'][i],
                            mlp_ratio=mlp_ratio, drop_path=dpr[cur + j], qkv_bias=qkv_bias,
                            window_size=self._block_window(i, j, depths[i]),
                            norm_cfg=norm_cfg, act_cfg=act_cfg)
                for j in range(depths[i]))
            self.add_module(f'stage{i + 1}', blocks)
            if style == 'cwin':
                conv = nn.Conv2d(dims[i], dims[i], kernel_size=7, padding=3, groups=dims[i])
                self.add_module(f'cwin_conv{i + 1}', conv)
            cur += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, dims[i])[1])
        self._init_cwin()
        self._finish_init()

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
    def _stage_modules(self, stage: int):
        if stage == 0:
            return [self.stem]
        mods = [getattr(self, f'stage{stage}')]
        if stage > 1:
            mods.append(getattr(self, f'patch_{stage}'))
        if hasattr(self, f'cwin_conv{stage}'):
            mods.append(getattr(self, f'cwin_conv{stage}'))
        return mods

    def _param_position(self, name: str):
        first = name.split('.')[0]
        if first == 'stem':
            return 0, 'first'
        for head, where in (('patch_', 'first'), ('cwin_conv', 'last'), ('stage', None),
                            ('norm', 'last')):
            if first.startswith(head) and first[len(head):].isdigit():
                stage = int(first[len(head):]) + (head == 'norm')
                return stage, int(name.split('.')[1]) if where is None else where
        return None

    def init_official(self) -> None:
        """The official ``_init_weights`` (models/rest_v2.py): trunc-normal std 0.02 on every
        Conv2d and Linear weight, zero biases, LayerNorm/BatchNorm weight 1 and bias 0; then the
        CWin convs at zero."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, (nn.LayerNorm, _BatchNorm)):
                constant_init(m, val=1., bias=0.)
        self._init_cwin()

    def _init_cwin(self) -> None:
        # Zero residual convs: a CWin model starts exactly equal to Win (and to its checkpoint).
        for i in range(1, self.num_stages + 1):
            if hasattr(self, f'cwin_conv{i}'):
                constant_init(getattr(self, f'cwin_conv{i}'), val=0., bias=0.)

    @classmethod
    def convert_state_dict(cls, state: dict) -> dict:
        """Official names to ours: the final ``norm`` is ``norm3``; the classifier ``head`` is
        dropped (logged)."""
        from mmengine.logging import print_log
        dropped = [k for k in state if k.startswith('head.')]
        if dropped:
            print_log(f'classifier keys dropped (not part of the backbone): {dropped}',
                      logger='current')
        return {('norm3.' + k[len('norm.'):] if k.startswith('norm.') else k): v
                for k, v in state.items() if not k.startswith('head.')}

    # ----------------------------------------------------------------------------- forward
    def _run_stage(self, i: int, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        for blk in getattr(self, f'stage{i + 1}'):
            x = checkpointed(blk, x, hw_shape, with_cp=self.with_cp)
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input(x)
        outs = []
        tokens, hw_shape = self.stem(x, with_cp=self.with_cp)
        for i in range(self.num_stages):
            if i > 0:
                tokens, hw_shape = getattr(self, f'patch_{i + 1}')(x, with_cp=self.with_cp)
            tokens = self._run_stage(i, tokens, hw_shape)
            x = to_map(tokens, hw_shape)  # the next patch embedding needs a map
            if self.style == 'cwin':
                x = x + getattr(self, f'cwin_conv{i + 1}')(x)
                tokens = to_tokens(x)[0]
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(tokens)
                outs.append(to_map(out, hw_shape).contiguous())
        return tuple(outs)

