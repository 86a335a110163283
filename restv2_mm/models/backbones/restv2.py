"""The ResTv2 backbone ("ResT V2: Simpler, Faster and Stronger", NeurIPS 2022)."""
import logging
from typing import Dict, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, normal_init, trunc_normal_init
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import ConvStem, PatchEmbed, ResTv2Block
from ..layers.grad_checkpoint import checkpointed
from .checkpoint import load_pretrained

NUM_STAGES = 4
STYLES = ('global', 'win', 'cwin', 'hwin')
DECAY_TYPES = ('stage_wise', 'layer_wise')


class ResTv2(BaseModule):
    """ResTv2 backbone with multi-scale outputs (paper section 3, appendix D).

    A convolutional stem (stride 4) and three stride-2 patch embeddings, each followed by a stage
    of EMSAv2 blocks. Stage i (0-based) has ``embed_dims[i]`` channels and stride ``4 * 2**i``.
    Each requested output goes through its own LayerNorm over channels (eps 1e-6), ``norm{i}``;
    the official final ``norm`` becomes ``norm3`` when a checkpoint is loaded.

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
        norm_cfg (dict): Norm of the stem convs. Default: ``dict(type='BN')``.
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
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH)`` loads an official
            ImageNet checkpoint (or a converted/mmpretrain one, ``prefix`` optional). Without it,
            or with ``checkpoint=None``, the official initialisation is applied (trunc-normal 0.02
            linears, fan-out normal convs) and a warning says the backbone is not pretrained.

    Shape:
        Input (N, in_channels, H, W), any H, W >= 1, float. Output: tuple of (N, embed_dims[i],
        H_i, W_i) for i in ``out_indices`` in stage order, with H_0 = ceil(ceil(H/2)/2), H_{i+1} = ceil(H_i/2).

    Raises:
        ValueError / TypeError: for an unknown ``arch``, a malformed arch dict, ``out_indices`` or
            ``frozen_stages`` out of range, or an input that is not a 4-D float tensor with
            ``in_channels`` channels, or that holds NaN/Inf (the message gives the count and the
            first (n, c, h, w) position). Each message names the argument and the expected value.
    """

    arch_zoo: Dict[str, dict] = {
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

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 mlp_ratio: float = 4.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 with_cp: bool = False,
                 style: str = 'global',
                 window_size: Union[int, Sequence[int]] = (64, 32, 16, 8),
                 init_cfg: dict = None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.embed_dims = list(self.arch_settings['embed_dims'])
        depths = self.arch_settings['depths']
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        self.in_channels = in_channels
        self.out_indices = self._parse_out_indices(out_indices)
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= NUM_STAGES:
            raise ValueError(f'frozen_stages must be an int in [-1, {NUM_STAGES}] '
                             f'(-1: none, 0: stem, i: stem + stages 1..i), got {frozen_stages!r}')
        if not 0 <= drop_path_rate < 1:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        if style not in STYLES:
            raise ValueError(f'style must be one of {STYLES}, got {style!r}')
        self.style = style
        self.window_size = self._parse_window_size(window_size)

        self.stem = ConvStem(in_channels, self.embed_dims[0], norm_cfg=norm_cfg)
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        cur = 0
        for i in range(NUM_STAGES):
            dims = self.embed_dims[i]
            if i > 0:
                self.add_module(f'patch_{i + 1}', PatchEmbed(self.embed_dims[i - 1], dims))
            blocks = nn.ModuleList(
                ResTv2Block(dims, self.arch_settings['num_heads'][i],
                            self.arch_settings['sr_ratios'][i], mlp_ratio=mlp_ratio,
                            drop_path=dpr[cur + j], qkv_bias=qkv_bias,
                            window_size=self._block_window(i, j, depths[i]))
                for j in range(depths[i]))
            self.add_module(f'stage{i + 1}', blocks)
            if style == 'cwin':
                conv = nn.Conv2d(dims, dims, kernel_size=7, padding=3, groups=dims)
                self.add_module(f'cwin_conv{i + 1}', conv)
            cur += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.embed_dims[i], eps=1e-6))
        self._init_cwin()
        self._freeze_stages()

    # ----------------------------------------------------------------------------- arguments
    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'arch must be one of {sorted(set(cls.arch_zoo))} or a dict with '
                                 f'keys {cls.arch_keys}, got {arch!r}')
            return {k: list(v) for k, v in cls.arch_zoo[key].items()}
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        missing = [k for k in cls.arch_keys if k not in arch]
        if missing:
            raise ValueError(f'arch dict is missing keys {missing}; it needs {cls.arch_keys}')
        settings = {}
        for k in cls.arch_keys:
            v = arch[k]
            if (not isinstance(v, (list, tuple)) or len(v) != NUM_STAGES
                    or not all(isinstance(x, int) and x >= 1 for x in v)):
                raise ValueError(f'arch[{k!r}] must be {NUM_STAGES} positive ints, got {v!r}')
            settings[k] = list(v)
        for dims, heads in zip(settings['embed_dims'], settings['num_heads']):
            if dims % heads:
                raise ValueError(f"arch['embed_dims'] {settings['embed_dims']} must be divisible "
                                 f"by arch['num_heads'] {settings['num_heads']} stage by stage")
        return settings

    @staticmethod
    def _parse_window_size(window_size) -> Tuple[int, ...]:
        sizes = (window_size, ) * NUM_STAGES if isinstance(window_size, int) else window_size
        if (not isinstance(sizes, (list, tuple)) or len(sizes) != NUM_STAGES
                or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                           for s in sizes)):
            raise ValueError(f'window_size must be a positive int or {NUM_STAGES} positive ints '
                             f'(one per stage), got {window_size!r}')
        return tuple(sizes)

    def _block_window(self, stage: int, index: int, depth: int):
        """Window side of block ``index`` of ``stage``, or None for global attention."""
        if self.style == 'global' or (self.style == 'hwin' and index == depth - 1):
            return None
        return self.window_size[stage]

    @staticmethod
    def _parse_out_indices(out_indices) -> Tuple[int, ...]:
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if (not isinstance(out_indices, (list, tuple)) or not out_indices
                or not all(isinstance(i, int) for i in out_indices)):
            raise TypeError(f'out_indices must be a non-empty sequence of ints in 0..3, '
                            f'got {out_indices!r}')
        norm = []
        for i in out_indices:
            if not -NUM_STAGES <= i < NUM_STAGES:
                raise ValueError(f'out_indices must be in 0..{NUM_STAGES - 1} (or -4..-1), '
                                 f'got {tuple(out_indices)}')
            norm.append(i % NUM_STAGES)
        if len(set(norm)) != len(norm):
            raise ValueError(f'out_indices has duplicates: {tuple(out_indices)}')
        return tuple(sorted(norm))

    @classmethod
    def output_channels(cls, arch: Union[str, dict] = 'tiny',
                        out_indices: Sequence[int] = (0, 1, 2, 3)) -> Tuple[int, ...]:
        """Channels of the outputs for ``arch`` and ``out_indices``, in output order (what a
        neck's ``in_channels`` must be), without building the model.

        Raises:
            ValueError / TypeError: as the constructor, for a bad ``arch`` or ``out_indices``.
        """
        dims = cls._parse_arch(arch)['embed_dims']
        return tuple(dims[i] for i in cls._parse_out_indices(out_indices))

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f'ResTv2 input x must be a torch.Tensor, got {type(x).__name__}')
        if x.dim() != 4:
            raise ValueError(f'ResTv2 input x must be 4-D (N, C, H, W), got shape {tuple(x.shape)}')
        if not x.is_floating_point():
            raise TypeError(f'ResTv2 input x must be a float tensor, got dtype {x.dtype}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ResTv2 input x has {x.shape[1]} channels but in_channels='
                             f'{self.in_channels} (shape {tuple(x.shape)})')
        if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f'ResTv2 input x must have N, H, W >= 1, got shape {tuple(x.shape)}')
        if not torch.compiler.is_compiling() and not bool(torch.isfinite(x).all()):
            # Said here: a NaN in the image otherwise surfaces as a NaN loss many layers later.
            bad = ~torch.isfinite(x)
            first = tuple(bad.nonzero()[0].tolist())
            raise ValueError(
                f'ResTv2 input x has {int(torch.isnan(x).sum())} NaN and '
                f'{int(torch.isinf(x).sum())} Inf values (shape {tuple(x.shape)}); the first is at '
                f'(n, c, h, w) = {first}: check the image file and the data preprocessor')

    # ----------------------------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Load ``init_cfg`` 'Pretrained' weights, else apply the official initialisation.

        Raises:
            FileNotFoundError / RuntimeError: see :func:`load_pretrained`.
        """
        cfg = self.init_cfg
        if cfg is not None and cfg.get('type') == 'Pretrained' and cfg.get('checkpoint'):
            self._init_cwin()
            load_pretrained(self, cfg['checkpoint'], prefix=cfg.get('prefix'))
            self._is_init = True
            return
        if cfg is not None and cfg.get('type') != 'Pretrained':
            super().init_weights()
            return
        print_log('ResTv2: no pretrained checkpoint given (init_cfg.checkpoint is unset): '
                  'backbone starts from random initialisation',
                  logger='current', level=logging.WARNING)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1., bias=0.)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                normal_init(m, mean=0., std=(2.0 / fan_out) ** 0.5, bias=0.)
        self._init_cwin()
        self._is_init = True

    def _init_cwin(self) -> None:
        # Zero residual convs: a CWin model starts exactly equal to Win (and to its checkpoint).
        for i in range(1, NUM_STAGES + 1):
            if hasattr(self, f'cwin_conv{i}'):
                constant_init(getattr(self, f'cwin_conv{i}'), val=0., bias=0.)

    def _freeze_stages(self) -> None:
        frozen = []
        if self.frozen_stages >= 0:
            frozen.append(self.stem)
        for i in range(1, self.frozen_stages + 1):
            if i > 1:
                frozen.append(getattr(self, f'patch_{i}'))
            frozen.append(getattr(self, f'stage{i}'))
            if hasattr(self, f'cwin_conv{i}'):
                frozen.append(getattr(self, f'cwin_conv{i}'))
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen stages and (with ``norm_eval``) stem BN in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ----------------------------------------------------------------------------- lr decay
    def get_layer_depth(self, param_name: str, prefix: str = '',
                        decay_type: str = 'stage_wise') -> Tuple[int, int]:
        """Depth of a parameter for learning-rate decay (paper appendix C.2: stage-wise, 0.9).

        ``'stage_wise'``: the stem is 0, stage i (its patch embedding, blocks, CWin conv and output
        norm) is i, and everything outside the backbone (neck, heads) is 5, the last.
        ``'layer_wise'``: the stem is 0, the k-th block overall is k (1-based), a patch embedding
        goes with the first block of its stage, a CWin conv and output norm with the last, and
        everything outside the backbone is ``sum(depths) + 1``.

        Args:
            param_name: Full parameter name, e.g. ``'backbone.stage2.0.attn.q.weight'``.
            prefix: The backbone's prefix in ``param_name`` (``'backbone.'`` in a detector).
            decay_type: ``'stage_wise'`` or ``'layer_wise'``.

        Returns:
            (layer_id, num_layers): with ``num_layers - 1`` for parameters outside the backbone.
            The lr multiplier is ``decay_rate ** (num_layers - 1 - layer_id)``.

        Raises:
            ValueError: unknown ``decay_type``.
        """
        if decay_type not in DECAY_TYPES:
            raise ValueError(f"decay_type must be 'stage_wise' or 'layer_wise', got {decay_type!r}")
        depths = self.arch_settings['depths']
        num_layers = NUM_STAGES + 2 if decay_type == 'stage_wise' else sum(depths) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        first = name.split('.')[0]
        if first == 'stem':
            return 0, num_layers
        if first.startswith('patch_'):
            stage, where = int(first[len('patch_'):]), 'first'
        elif first.startswith('stage'):
            stage, where = int(first[len('stage'):]), int(name.split('.')[1])
        elif first.startswith('cwin_conv'):
            stage, where = int(first[len('cwin_conv'):]), 'last'
        elif first.startswith('norm'):
            stage, where = int(first[len('norm'):]) + 1, 'last'
        else:
            return num_layers - 1, num_layers
        if decay_type == 'stage_wise':
            return stage, num_layers
        before = sum(depths[:stage - 1])
        block = {'first': 0, 'last': depths[stage - 1] - 1}.get(where, where)
        return before + block + 1, num_layers

    # ----------------------------------------------------------------------------- forward
    def _run_stage(self, i: int, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        for blk in getattr(self, f'stage{i + 1}'):
            x = checkpointed(blk, x, hw_shape, with_cp=self.with_cp)
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self._check_input(x)
        n = x.shape[0]
        outs = []
        tokens, hw_shape = self.stem(x, with_cp=self.with_cp)
        for i in range(NUM_STAGES):
            if i > 0:
                tokens, hw_shape = getattr(self, f'patch_{i + 1}')(x, with_cp=self.with_cp)
            tokens = self._run_stage(i, tokens, hw_shape)
            # (N, H*W, C) -> (N, C, H, W): the next patch embedding needs a map.
            x = tokens.transpose(1, 2).reshape(n, -1, *hw_shape)
            if self.style == 'cwin':
                x = x + getattr(self, f'cwin_conv{i + 1}')(x)
                tokens = x.flatten(2).transpose(1, 2)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(tokens)
                outs.append(out.transpose(1, 2).reshape(n, -1, *hw_shape).contiguous())
        return tuple(outs)
