"""What ResTv1 and ResTv2 share: stem, three stride-2 patch embeddings, stages of pre-norm EMSA
blocks, a LayerNorm per output, the official releases' module names, and the forward."""
from typing import Callable, Iterable, List, Optional, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init, trunc_normal_
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..common import MultiScaleBackbone, recomputed, to_map
from .ablations import EMSAv2RPE
from .block import ResTBlock
from .position import APE


class ResTStage(nn.ModuleList):
    """The blocks of one stage (keys ``stage{i}.{j}.*``), run in order.

    Shape:
        x (N, H*W, C), hw_shape (H, W) -> (N, H*W, C).
    """

    def __init__(self, blocks: Iterable[nn.Module]):
        super().__init__(blocks)

    def forward(self, x: torch.Tensor, hw_shape: Tuple[int, int],
                with_cp: Union[bool, str] = False) -> torch.Tensor:
        """``with_cp`` recomputes each block in backward (:func:`~..common.recomputed`)."""
        for block in self:
            x = recomputed(block, x, hw_shape, with_cp=with_cp)
        return x


class ResTBase(MultiScaleBackbone):
    """Base of :class:`ResTv1` and :class:`ResTv2` (github.com/wofmanaf/ResT).

    Stage i (0-based, stride ``4 * 2**i``) is an embedding (the stem for stage 0, a stride-2
    patch embedding after it), a list of blocks, and for ResTv2's CWin style a residual conv.
    Their module names are the official ones, listed in :attr:`embed_names`,
    :attr:`stage_names` and :attr:`extra_names`; output i has the LayerNorm
    ``out_norm_names[i]`` (``norm{i}``; the official final ``norm`` is ``norm3``). A subclass's
    ``__init__`` builds them under these names, stage by stage.
    """

    # The stem, then the patch embedding into stages 2-4 (ResTv1 names them patch_embed_{2,3,4}).
    embed_names: Tuple[str, ...] = ('stem', 'patch_2', 'patch_3', 'patch_4')
    # The blocks of each stage (an nn.ModuleList).
    stage_names: Tuple[str, ...] = ('stage1', 'stage2', 'stage3', 'stage4')
    # Per-stage modules after the blocks (ResTv2's CWin convs), where present; frozen and
    # lr-decayed with the stage's last block.
    extra_names: Tuple[str, ...] = ()
    # Keys that mark an official (github.com/wofmanaf/ResT) checkpoint of either version.
    official_prefixes = ('stem.', 'stage1.')
    checkpoint_ignored = {
        r'head\.': "the ImageNet classifier's Linear head of an official checkpoint (mmpretrain "
                   "keeps it outside 'backbone.')",
        r'norm[0-3]\.': 'the norm of an output this backbone does not return (out_indices): a '
                        'detector checkpoint has all four',
    }
    checkpoint_optional = {
        **MultiScaleBackbone.checkpoint_optional,
        r'norm[0-2]\.': 'the norms of outputs 0-2: an official or mmpretrain classifier has only '
                        'the final one (norm3)',
    }
    # The official ResTv2 init zeroes every conv bias; ResTv1's leaves PyTorch's default.
    zero_conv_bias = True

    @property
    def embeds(self) -> List[nn.Module]:
        """The embedding of each stage: the stem, then the three patch embeddings."""
        return [getattr(self, name) for name in self.embed_names]

    @property
    def stages(self) -> List[ResTStage]:
        """The blocks of each stage."""
        return [getattr(self, name) for name in self.stage_names]

    # ----------------------------------------------------------------------------- family hooks
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        if stage == 0:
            return [self.stem]
        i = stage - 1
        names = [self.stage_names[i], *self.extra_names[i:i + 1]]
        if stage > 1:
            names.append(self.embed_names[i])
        return [getattr(self, n) for n in names if hasattr(self, n)]

    def _param_position(self, name: str):
        first = name.split('.')[0]
        if first == self.embed_names[0]:
            return 0, 'first'
        if first in self.embed_names:
            return self.embed_names.index(first) + 1, 'first'
        if first in self.stage_names:
            return self.stage_names.index(first) + 1, int(name.split('.')[1])
        for names in (self.extra_names, self.out_norm_names):
            if first in names:
                return names.index(first) + 1, 'last'
        return None

    def init_official(self) -> None:
        """The official ``_init_weights``: trunc-normal std 0.02 on every Conv2d and Linear
        weight, zero Linear biases (and conv biases where :attr:`zero_conv_bias`),
        LayerNorm/BatchNorm weight 1 and bias 0; trunc-normal std 0.02 on APE and RPE
        positions; then :meth:`_init_extras`."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None and (isinstance(m, nn.Linear) or self.zero_conv_bias):
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.LayerNorm, _BatchNorm)):
                constant_init(m, val=1., bias=0.)
            elif isinstance(m, APE):
                m.init_weights()
            elif isinstance(m, EMSAv2RPE):
                m.init_rpe()
        self._init_extras()

    def _init_extras(self) -> None:
        """Initialise the modules of :attr:`extra_names`."""

    @classmethod
    def convert_state_dict(cls, state: dict) -> dict:
        """Official names to ours: the final ``norm`` is ``norm3`` (the classifier ``head`` is one
        of :attr:`checkpoint_ignored`)."""
        return {('norm3.' + k[len('norm.'):] if k.startswith('norm.') else k): v
                for k, v in state.items()}

    # ----------------------------------------------------------------------------- building
    def _build_stages(self, embed: Callable[[int], nn.Module], *, mlp_ratio: float,
                      qkv_bias: bool, norm_cfg: dict, act_cfg: dict,
                      attn_cfg: Callable[[int], dict],
                      window_size: Callable[[int, int], Optional[int]] = lambda i, j: None,
                      extra: Callable[[int], Optional[nn.Module]] = lambda i: None) -> None:
        """Stage by stage: ``embed(i)`` (under ``embed_names[i]``); the :class:`ResTBlock` s of
        the arch with ``attn_cfg(i)`` and ``window_size(i, j)`` (a :class:`ResTStage` under
        ``stage_names[i]``); ``extra(i)`` where not None (under ``extra_names[i]``). Then a
        LayerNorm per output, :meth:`_init_extras` and :meth:`_finish_init`."""
        settings, dims = self.arch_settings, self.embed_dims
        drop_paths = self.stage_drop_path_rates()
        for i in range(self.num_stages):
            self.add_module(self.embed_names[i], embed(i))
            self.add_module(self.stage_names[i], ResTStage(
                ResTBlock(embed_dims=dims[i], num_heads=settings['num_heads'][i],
                          sr_ratio=settings['sr_ratios'][i], mlp_ratio=mlp_ratio,
                          drop_path=drop_path, qkv_bias=qkv_bias, window_size=window_size(i, j),
                          norm_cfg=norm_cfg, act_cfg=act_cfg, attn_cfg=attn_cfg(i))
                for j, drop_path in enumerate(drop_paths[i])))
            module = extra(i)
            if module is not None:
                self.add_module(self.extra_names[i], module)
        for i in self.out_indices:
            self.add_module(self.out_norm_names[i], build_norm_layer(norm_cfg, dims[i])[1])
        self._init_extras()
        self._finish_init()

    # ----------------------------------------------------------------------------- forward
    def _stage_end(self, i: int, x: torch.Tensor,
                   tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(map, tokens) after stage ``i``'s blocks; a family adds its extras here."""
        return x, tokens

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input(x)
        outs = []
        for i, (embed, stage) in enumerate(zip(self.embeds, self.stages)):
            tokens, hw_shape = embed(x, with_cp=self.with_cp)
            tokens = stage(tokens, hw_shape, with_cp=self.with_cp)
            x = to_map(tokens, hw_shape)  # the next patch embedding needs a map
            x, tokens = self._stage_end(i, x, tokens)
            if i in self.out_indices:
                out = self.out_norm(i)(tokens)
                outs.append(to_map(out, hw_shape).contiguous())
        return tuple(outs)
