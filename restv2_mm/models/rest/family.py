"""What ResTv1 and ResTv2 share: stem, three stride-2 patch embeddings, stages of pre-norm EMSA
blocks, a LayerNorm per output, and the official releases' module names."""
from typing import Callable, List, Optional, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init, trunc_normal_
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..common import MultiScaleBackbone, checkpointed, to_map
from .emsav2 import EMSAv2
from .position import APE


class ResTFamily(MultiScaleBackbone):
    """Base of :class:`ResTv1` and :class:`ResTv2` (github.com/wofmanaf/ResT).

    Module names are the official ones: ``stem``, ``{embed_prefix}{2,3,4}`` (the patch
    embeddings), ``stage{1..4}`` (lists of blocks), and ``norm{i}`` for each output ``i`` (the
    official final ``norm`` is ``norm3``). A subclass builds ``stem`` and calls
    :meth:`_add_stages`; stage i (0-based) has stride ``4 * 2**i``.
    """

    embed_prefix = 'patch_'
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
    # Per-stage modules beyond the blocks (ResTv2's CWin convs), frozen and lr-decayed with the
    # stage's last block.
    stage_extras: Tuple[str, ...] = ()
    # The official ResTv2 init zeroes every conv bias; ResTv1's leaves PyTorch's default.
    zero_conv_bias = True

    def _add_stages(self, make_embed: Callable[[int], nn.Module],
                    make_block: Callable[[int, int, float], nn.Module], norm_cfg: dict,
                    make_extra: Optional[Callable[[int], Optional[Tuple[str, nn.Module]]]] = None
                    ) -> None:
        """Register the patch embeddings (``make_embed(i)``, i = 1..3), the blocks
        (``make_block(stage, index, drop_path)``), the extras (``make_extra(i)``: a (name,
        module) pair or None) stage by stage, then an output norm per ``out_indices``."""
        dpr = self.drop_path_rates()
        depths = self.arch_settings['depths']
        cur = 0
        for i in range(self.num_stages):
            if i > 0:
                self.add_module(f'{self.embed_prefix}{i + 1}', make_embed(i))
            self.add_module(f'stage{i + 1}', nn.ModuleList(
                make_block(i, j, dpr[cur + j]) for j in range(depths[i])))
            extra = make_extra(i) if make_extra is not None else None
            if extra is not None:
                self.add_module(*extra)
            cur += depths[i]
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, self.embed_dims[i])[1])

    # ----------------------------------------------------------------------------- family hooks
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        if stage == 0:
            return [self.stem]
        names = [f'stage{stage}'] + [f'{p}{stage}' for p in self.stage_extras]
        if stage > 1:
            names.append(f'{self.embed_prefix}{stage}')
        return [getattr(self, n) for n in names if hasattr(self, n)]

    def _param_position(self, name: str):
        first = name.split('.')[0]
        if first == 'stem':
            return 0, 'first'
        heads = ((self.embed_prefix, 'first'), *((p, 'last') for p in self.stage_extras),
                 ('stage', None), ('norm', 'last'))
        for head, where in heads:
            if first.startswith(head) and first[len(head):].isdigit():
                stage = int(first[len(head):]) + (head == 'norm')
                return stage, int(name.split('.')[1]) if where is None else where
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
            elif isinstance(m, EMSAv2):
                m.init_rpe()
        self._init_extras()

    def _init_extras(self) -> None:
        """Initialise what :meth:`_add_stages`' ``make_extra`` added."""

    @classmethod
    def convert_state_dict(cls, state: dict) -> dict:
        """Official names to ours: the final ``norm`` is ``norm3`` (the classifier ``head`` is one
        of :attr:`checkpoint_ignored`)."""
        return {('norm3.' + k[len('norm.'):] if k.startswith('norm.') else k): v
                for k, v in state.items()}

    # ----------------------------------------------------------------------------- forward
    def _run_stage(self, i: int, x: torch.Tensor, hw_shape: Tuple[int, int]) -> torch.Tensor:
        for blk in getattr(self, f'stage{i + 1}'):
            x = checkpointed(blk, x, hw_shape, with_cp=self.with_cp)
        return x

    def _stage_end(self, i: int, x: torch.Tensor,
                   tokens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(map, tokens) after stage ``i``'s blocks; a family adds its extras here."""
        return x, tokens

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input(x)
        outs = []
        for i in range(self.num_stages):
            embed = self.stem if i == 0 else getattr(self, f'{self.embed_prefix}{i + 1}')
            tokens, hw_shape = embed(x, with_cp=self.with_cp)
            tokens = self._run_stage(i, tokens, hw_shape)
            x = to_map(tokens, hw_shape)  # the next patch embedding needs a map
            x, tokens = self._stage_end(i, x, tokens)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(tokens)
                outs.append(to_map(out, hw_shape).contiguous())
        return tuple(outs)
