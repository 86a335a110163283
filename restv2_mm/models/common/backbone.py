"""What every backbone of the package shares: the OpenMMLab backbone contract.

``arch`` from an ``arch_zoo`` (or a dict), ``out_indices`` with a norm per output, ``frozen_stages``,
``norm_eval``, ``drop_path_rate``, ``with_cp``, ``init_cfg`` Pretrained (official, OpenMMLab and
converted checkpoints, raw or EMA weights), input checks, and the depth of each parameter for
learning-rate decay. A family (ResTv2, ResTv1, RMT) adds its modules and names its stages.
"""
import logging
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...utils.torch_compat import is_compiling
from .input_check import check_input_size, match_input_dtype
from .pretrained import load_pretrained, require_checkpoint
from .recompute import check_cp_mode

DECAY_TYPES = ('stage_wise', 'layer_wise')
CHECK_INPUT_ENV = 'RESTV2_CHECK_INPUT'


class MultiScaleBackbone(BaseModule):
    """Base of the four-stage backbones (stem = stage 0, stages 1..4 of strides 4, 8, 16, 32).

    Subclasses set ``arch_zoo`` and ``arch_keys``, build their modules (the norm of output i
    named ``out_norm_names[i]``), call :meth:`_finish_init` at the end of ``__init__``, and
    implement :meth:`_stage_modules`,
    :meth:`_param_position` and :meth:`init_official`; :meth:`convert_state_dict` maps an official
    release's keys to theirs.

    Args:
        arch (str | dict): A key of ``arch_zoo`` or a dict with every key of ``arch_keys``.
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Stages (0..3, or -4..-1) whose features are returned.
        frozen_stages (int): -1 none; 0 the stem; i in 1..4 the stem and stages 1..i with their
            downsampling layers (parameters without grad, modules in eval mode).
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        with_cp (bool | str): Gradient checkpointing of the blocks and embeddings (what it covers
            is the family's): False; True or ``'full'`` (recompute everything in backward);
            ``'selective'`` (keep matmul and attention outputs, recompute the cheap rest; see
            :mod:`restv2_mm.models.common.recompute`).
        drop_path_rate (float): Stochastic depth, linear over the blocks from 0. In [0, 1).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH, prefix=None,
            weights='model'|'ema', required=False)``; see :meth:`init_weights`.

    Raises:
        ValueError / TypeError: a bad argument; each message names it and the expected value.
    """

    num_stages = 4
    # The norm of each output (where there is one), by output index.
    out_norm_names: Tuple[str, ...] = ('norm0', 'norm1', 'norm2', 'norm3')
    arch_zoo: Dict[str, dict] = {}
    # Required keys of an arch dict: ``arch_keys`` hold ``num_stages`` positive ints each (checked
    # here); ``arch_extra_keys`` hold anything else (ratios, flags), checked by ``_check_arch``.
    arch_keys: Tuple[str, ...] = ()
    arch_extra_keys: Tuple[str, ...] = ()
    # Leading key parts of the family's official ImageNet checkpoints (how tools recognise one),
    # and where their classifier keys go in an mmpretrain ``ImageClassifier``.
    official_prefixes: Tuple[str, ...] = ()
    official_head_prefixes: Dict[str, str] = {'head.': 'head.fc.'}
    # What a checkpoint may hold beyond the backbone's keys (skipped) and may lack (left at
    # initialisation): regular expressions on our key names -> the reason. Any other difference
    # refuses to load (``strict=False`` in ``init_cfg`` loads what fits). Each family extends both.
    checkpoint_ignored: Dict[str, str] = {}
    checkpoint_optional: Dict[str, str] = {
        r'.*num_batches_tracked$': "BatchNorm's step counter: checkpoints of older PyTorch lack it, "
                                   'and it is unused with a fixed momentum',
    }

    def __init__(self, arch: Union[str, dict], *, in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3), frozen_stages: int = -1,
                 norm_eval: bool = False, with_cp: Union[bool, str] = False,
                 drop_path_rate: float = 0., init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self.parse_arch(arch)
        self.arch = arch if isinstance(arch, str) else 'custom'
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be an int in [-1, {self.num_stages}] '
                             f'(-1: none, 0: stem, i: stem + stages 1..i), got {frozen_stages!r}')
        if not 0 <= drop_path_rate < 1:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}')
        self.in_channels = in_channels
        self.out_indices = self.parse_out_indices(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = check_cp_mode(with_cp)
        self.drop_path_rate = drop_path_rate
        # A float input of another dtype is cast to the weights' (as the data preprocessors do).
        self.register_forward_pre_hook(match_input_dtype)

    # ----------------------------------------------------------------------------- arguments
    @classmethod
    def parse_arch(cls, arch: Union[str, dict]) -> dict:
        """Settings of ``arch``: lists of ``num_stages`` positive ints for every key of
        ``arch_keys`` (a subclass checks further keys in :meth:`_check_arch`).

        Raises:
            ValueError / TypeError: unknown name, not a dict, missing keys, malformed lists.
        """
        if isinstance(arch, str):
            key = arch.lower()
            if key not in cls.arch_zoo:
                raise ValueError(f'arch must be one of {sorted(set(cls.arch_zoo))} or a dict with '
                                 f'keys {cls.arch_keys + cls.arch_extra_keys}, got {arch!r}')
            settings = {k: list(v) if isinstance(v, (list, tuple)) else v
                        for k, v in cls.arch_zoo[key].items()}
            cls._check_arch(settings)
            return settings
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch).__name__}')
        required = cls.arch_keys + cls.arch_extra_keys
        missing = [k for k in required if k not in arch]
        if missing:
            raise ValueError(f'arch dict is missing keys {missing}; it needs {required}')
        settings = dict(arch)
        for k in cls.arch_keys:
            v = arch[k]
            if (not isinstance(v, (list, tuple)) or len(v) != cls.num_stages
                    or not all(isinstance(x, int) and x >= 1 for x in v)):
                raise ValueError(f'arch[{k!r}] must be {cls.num_stages} positive ints, got {v!r}')
            settings[k] = list(v)
        cls._check_arch(settings)
        return settings

    @classmethod
    def _check_arch(cls, settings: dict) -> None:
        """Cross-checks of an arch's settings (e.g. channels divisible by heads)."""
        if 'embed_dims' in settings and 'num_heads' in settings:
            for dims, heads in zip(settings['embed_dims'], settings['num_heads']):
                if dims % heads:
                    raise ValueError(f"arch['embed_dims'] {settings['embed_dims']} must be "
                                     f"divisible by arch['num_heads'] {settings['num_heads']} "
                                     'stage by stage')

    @classmethod
    def parse_out_indices(cls, out_indices) -> Tuple[int, ...]:
        """``out_indices`` as sorted non-negative stage indices.

        Raises:
            TypeError / ValueError: not a non-empty sequence of ints, out of range, repeated.
        """
        n = cls.num_stages
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        if (not isinstance(out_indices, (list, tuple)) or not out_indices
                or not all(isinstance(i, int) for i in out_indices)):
            raise TypeError(f'out_indices must be a non-empty sequence of ints in 0..{n - 1}, '
                            f'got {out_indices!r}')
        norm = []
        for i in out_indices:
            if not -n <= i < n:
                raise ValueError(f'out_indices must be in 0..{n - 1} (or -{n}..-1), '
                                 f'got {tuple(out_indices)}')
            norm.append(i % n)
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
        dims = cls.parse_arch(arch)['embed_dims']
        return tuple(dims[i] for i in cls.parse_out_indices(out_indices))

    @property
    def embed_dims(self) -> List[int]:
        """Channels of the four stages."""
        return list(self.arch_settings['embed_dims'])

    def drop_path_rates(self) -> List[float]:
        """Stochastic depth of every block, linear from 0 to ``drop_path_rate`` over all blocks."""
        return torch.linspace(0, self.drop_path_rate, sum(self.arch_settings['depths'])).tolist()

    def stage_drop_path_rates(self) -> List[List[float]]:
        """:meth:`drop_path_rates` split by stage: ``[i][j]`` is block j of stage i's."""
        rates, depths = self.drop_path_rates(), self.arch_settings['depths']
        return [rates[sum(depths[:i]):sum(depths[:i + 1])] for i in range(self.num_stages)]

    def out_norm(self, i: int) -> nn.Module:
        """The norm of output ``i`` (a stage index in ``out_indices``)."""
        return getattr(self, self.out_norm_names[i])

    def check_input(self, x) -> None:
        """Check the input's type, rank, dtype, channels and size (free: metadata only); in eager
        mode the smallest size the layers take (:func:`.input_check.check_input_size`: ResTv1's
        InstanceNorm needs H or W > 32, a training BatchNorm two values per channel); the values
        (NaN/Inf) on the CPU, where that costs no device synchronisation, and on other devices
        only where ``$RESTV2_CHECK_INPUT=1`` (a debug switch: it synchronises). A float input of
        another dtype than the weights was cast to theirs before (:func:`.input_check.match_input_dtype`).

        Raises:
            TypeError / ValueError: naming ``x``, its shape or dtype, and what was expected; for
                NaN/Inf the count and the first (n, c, h, w) position.
        """
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f'{name} input x must be a torch.Tensor, got {type(x).__name__}')
        if x.dim() != 4:
            raise ValueError(f'{name} input x must be 4-D (N, C, H, W), got shape {_shape(x)}')
        if not x.is_floating_point():
            raise TypeError(f'{name} input x must be a float tensor, got dtype {x.dtype}')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{name} input x has {x.shape[1]} channels but in_channels='
                             f'{self.in_channels} (shape {_shape(x)})')
        if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f'{name} input x must have N, H, W >= 1, got shape {_shape(x)}')
        if is_compiling():
            return
        check_input_size(self, _shape(x))  # also when traced (FLOP counting): metadata only
        if torch.jit.is_tracing():
            return
        if x.device.type != 'cpu' and os.environ.get(CHECK_INPUT_ENV, '0') != '1':
            return
        if not bool(torch.isfinite(x).all()):
            # Said here: a NaN in the image otherwise surfaces as a NaN loss many layers later.
            first = tuple((~torch.isfinite(x)).nonzero()[0].tolist())
            raise ValueError(
                f'{name} input x has {int(torch.isnan(x).sum())} NaN and '
                f'{int(torch.isinf(x).sum())} Inf values (shape {_shape(x)}); the first is at '
                f'(n, c, h, w) = {first}: check the image file and the data preprocessor')

    # ----------------------------------------------------------------------------- family hooks
    def _finish_init(self) -> None:
        """Call at the end of a subclass's ``__init__``."""
        self._freeze_stages()

    def _stage_modules(self, stage: int) -> List[nn.Module]:
        """Modules of ``stage`` (0: the stem; 1..4: stage i with its downsampling layer), as
        ``frozen_stages`` freezes them."""
        raise NotImplementedError

    def _param_position(self, name: str) -> Optional[Tuple[int, Union[int, str]]]:
        """(stage 0..4, block index in the stage or ``'first'``/``'last'``) of a backbone
        parameter name without prefix, or None for parameters outside the stages (they go last)."""
        raise NotImplementedError

    def init_official(self) -> None:
        """Random initialisation as the official code does it."""
        raise NotImplementedError

    @classmethod
    def convert_state_dict(cls, state: dict) -> dict:
        """An official release's state dict in our names (identity by default)."""
        return state

    # ----------------------------------------------------------------------------- weights
    def init_weights(self) -> None:
        """Load ``init_cfg`` Pretrained weights, else apply the official initialisation.

        ``init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix=None, weights='model',
        required=False, strict=True, allow_non_finite=None)``: official checkpoints (under
        ``model``/``model_ema``/``state_dict``, keys possibly ``module.``-prefixed), converted ones
        and OpenMMLab models (``backbone.``) load; ``weights`` picks the raw (default) or EMA
        weights (:mod:`restv2_mm.models.common.pretrained`). A checkpoint whose keys or shapes
        differ from the backbone's beyond :attr:`checkpoint_ignored` and
        :attr:`checkpoint_optional` (another arch, another family) raises, unless
        ``strict=False``, which loads what fits and logs per stage what stays at initialisation.
        Tensors that hold NaN/Inf are refused with either ``strict`` unless
        ``allow_non_finite=True`` (or ``$RESTV2_ALLOW_NON_FINITE=1``). Without a checkpoint the
        backbone starts from the official random initialisation and the log says so, or, with
        ``required=True``, a ValueError says how to set one.

        Raises:
            ValueError: ``required=True`` without a checkpoint; bad ``weights``; NaN/Inf in the
                checkpoint's tensors (named by stage).
            FileNotFoundError / RuntimeError: see :func:`load_pretrained`; RuntimeError also for a
                checkpoint that does not fit (it names the keys by stage and the arch to use).
        """
        cfg = self.init_cfg
        if cfg is not None and cfg.get('type') != 'Pretrained':
            super().init_weights()
            return
        path = require_checkpoint(cfg, 'model.backbone') if cfg is not None else None
        self.init_official()
        if path:
            load_pretrained(self, path, prefix=cfg.get('prefix'), weights=cfg.get('weights', 'model'),
                            strict=cfg.get('strict', True), allow_non_finite=cfg.get('allow_non_finite'))
        else:
            print_log(f'{type(self).__name__}: no pretrained checkpoint given (init_cfg.checkpoint '
                      'is unset): backbone starts from random initialisation',
                      logger='current', level=logging.WARNING)
        self._is_init = True

    # ----------------------------------------------------------------------------- train mode
    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            for m in self._stage_modules(i):
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True):
        """Set train mode, keeping frozen stages and (with ``norm_eval``) BatchNorms in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        self._size_rules = None  # the modes changed: check_input_size finds them again
        return self

    # ----------------------------------------------------------------------------- lr decay
    def get_layer_depth(self, param_name: str, prefix: str = '',
                        decay_type: str = 'stage_wise') -> Tuple[int, int]:
        """Depth of a parameter for learning-rate decay (ResTv2 appendix C.2: stage-wise, 0.9).

        ``'stage_wise'``: the stem is 0, stage i (its downsampling layer, blocks and output norm)
        is i, and everything outside the backbone (neck, heads) is 5, the last.
        ``'layer_wise'``: the stem is 0, the k-th block overall is k (1-based), a downsampling
        layer goes with the first block of its stage, a stage's extra layers and output norm with
        the last, and everything outside the backbone is ``sum(depths) + 1``.

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
        num_layers = self.num_stages + 2 if decay_type == 'stage_wise' else sum(depths) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        position = self._param_position(param_name[len(prefix):])
        if position is None:
            return num_layers - 1, num_layers
        stage, where = position
        if stage == 0 or decay_type == 'stage_wise':
            return stage, num_layers
        block = {'first': 0, 'last': depths[stage - 1] - 1}.get(where, where)
        return sum(depths[:stage - 1]) + block + 1, num_layers


def _shape(x: torch.Tensor) -> Tuple[int, ...]:
    """``x``'s shape as ints (a traced shape holds tensors: FLOP counting; reading them is fine)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        return tuple(int(s) for s in x.shape)


def check_norm_cfg(norm_cfg: dict, name: str = 'norm_cfg') -> None:
    """``norm_cfg`` (or another argument ``name``) configures LayerNorms over tokens; BatchNorm
    goes to ``conv_norm_cfg``.

    Raises:
        TypeError: not a dict with a ``type``; ValueError: a BatchNorm type.
    """
    if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
        raise TypeError(f"{name} must be a dict with a 'type', got {norm_cfg!r}")
    if 'BN' in str(norm_cfg['type']):
        raise ValueError(
            f'{name}={norm_cfg!r} is a BatchNorm, but {name} configures the LayerNorms of the '
            f"transformer parts (default dict(type='LN', eps=1e-6)); the BatchNorms of the "
            f'convolutional stem are conv_norm_cfg, e.g. conv_norm_cfg={norm_cfg!r}')
