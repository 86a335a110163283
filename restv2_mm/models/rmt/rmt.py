"""The RMT backbone ("RMT: Retentive Networks Meet Vision Transformers", CVPR 2024)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import constant_init, trunc_normal_init
from torch import nn

from ..common import ACT_CFG, CONV_NORM_CFG, NORM_CFG, MultiScaleBackbone, check_norm_cfg
from .stage import RMTStage
from .stem import RMTStem

# The official detection / segmentation backbones normalise each output with nn.LayerNorm(C),
# whose eps is PyTorch's default, not the 1e-6 of the blocks.
OUT_NORM_CFG = dict(type='LN', eps=1e-5)
# Official VisRetNet default, used where layer scale is on.
LAYER_INIT_VALUES = 1e-6


def _numbers(value, n: int, low: float, strict: bool) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    and (v > low if strict else v >= low) for v in value))


class RMT(MultiScaleBackbone):
    """RMT backbone with multi-scale outputs (supplement A, Table 1; official code
    ``classfication_release/RMT.py`` and ``detect/mmdet/models/backbones/RMT.py``).

    A four-conv stem (stride 4), then four stages of RMT blocks (conditional position encoding,
    Manhattan self-attention with the spatial decay and rotary position, conv FFN); stage i
    (0-based) has ``embed_dims[i]`` channels and stride ``4 * 2**i``, and a stride-2 conv + BN
    (patch merging) leads into the next. Stages with ``chunkwise_recurrents[i]`` attend along rows
    and then columns (decomposed); the others over the whole map. Each requested output goes
    through its own LayerNorm ``norm{i}`` (the official detection/segmentation ``extra_norms.{i}``,
    renamed when a checkpoint loads); ``out_norm_cfg=None`` returns the raw stage features, as the
    official classifier uses them.

    Module names are the official ones (``patch_embed``, ``layers.{i}.Relpos``,
    ``layers.{i}.blocks.{j}``, ``layers.{i}.downsample``), so official checkpoints load unchanged.
    As there, the downsampling into stage i + 1 is ``layers.{i}.downsample``; ``frozen_stages`` and
    the lr-decay depth still count it with stage i + 1.

    Args:
        arch (str | dict): ``'tiny'|'t'``, ``'small'|'s'``, ``'base'|'b'``, ``'large'|'l'``
            (official ``RMT_T3``, ``RMT_S``, ``RMT_M2``, ``RMT_L6``), or a dict with the official
            keys ``embed_dims``, ``depths``, ``num_heads`` (4 ints each), ``mlp_ratios``,
            ``init_values`` (a > 0), ``heads_ranges`` (b - a >= 0) (4 numbers each),
            ``chunkwise_recurrents`` and ``layerscales`` (4 bools each), and optionally
            ``layer_init_values`` (default 1e-6). Default: ``'tiny'``.
        in_channels (int): Input image channels. Default: 3.
        out_indices (Sequence[int]): Stages (0..3) whose features are returned.
            Default: (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth, linear over all blocks from 0. Default: 0
            (the official models train with 0.1 / 0.15 / 0.4 / 0.5).
        frozen_stages (int): -1 none; 0 the stem; i in 1..4 the stem and stages 1..i with the patch
            merging into them. Output norms stay trainable. Default: -1.
        norm_eval (bool): Keep the BatchNorms (stem, patch merging) in eval mode while training.
            Default: False.
        norm_cfg (dict): The blocks' LayerNorms. Default: ``dict(type='LN', eps=1e-6)``.
        out_norm_cfg (dict, optional): The output norms. Default: ``dict(type='LN', eps=1e-5)``,
            the official detection/segmentation ``nn.LayerNorm``; None: no output norms.
        act_cfg (dict): Stem and FFN activation. Default: ``dict(type='GELU')``.
        conv_norm_cfg (dict): The BatchNorms of the stem and the patch merging. Default:
            ``dict(type='BN')``; the official detection/segmentation code uses SyncBN
            (``dict(type='SyncBN')``).
        with_cp (bool | str): Gradient checkpointing of every block (the stem and patch merging
            end in a BatchNorm, which a recomputation would update twice): False, True or
            ``'full'``, or ``'selective'`` (see :class:`MultiScaleBackbone`). Default: False.
        pretrain_img_size (int): res_ori of supplement C: the resolution gamma was trained at.
            Default: 224.
        img_size (int): res_new: every gamma becomes gamma ** (res_ori / res_new) (e.g. 384 to
            fine-tune at 384). Only the decay changes; inputs of any size are accepted whatever
            this is. Default: 224 (no change).
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH, weights='model')``:
            an official ImageNet, detection or segmentation checkpoint, or a converted / OpenMMLab
            one; see :meth:`MultiScaleBackbone.init_weights`. Without it, the official
            initialisation (trunc-normal std 0.02 on every Linear, zero biases, LayerNorms 1/0,
            convolutions and BatchNorms at PyTorch's defaults) and a warning.

    Shape:
        Input (N, in_channels, H, W), any H, W >= 1, float. Output: tuple of (N, embed_dims[i],
        H_i, W_i) for i in ``out_indices``, with H_0 = ceil(ceil(H/2)/2), H_{i+1} = ceil(H_i/2).

    Raises:
        ValueError / TypeError: unknown ``arch`` or a malformed arch dict (missing keys, lists of
            the wrong length or type, channels per head not even), ``out_indices`` /
            ``frozen_stages`` / ``drop_path_rate`` out of range, a BatchNorm as ``norm_cfg`` or
            ``out_norm_cfg``, non-positive ``pretrain_img_size`` / ``img_size``, or an input that
            is not a 4-D float tensor with ``in_channels`` channels, or holds NaN/Inf
            (:meth:`MultiScaleBackbone.check_input`). Each message names the argument.
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=[64, 128, 256, 512], depths=[2, 2, 8, 2], num_heads=[4, 4, 8, 16],
            mlp_ratios=[3, 3, 3, 3], init_values=[2, 2, 2, 2], heads_ranges=[4, 4, 6, 6],
            chunkwise_recurrents=[True, True, False, False],
            layerscales=[False, False, False, False])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[64, 128, 256, 512], depths=[3, 4, 18, 4], num_heads=[4, 4, 8, 16],
            mlp_ratios=[4, 4, 3, 3], init_values=[2, 2, 2, 2], heads_ranges=[4, 4, 6, 6],
            chunkwise_recurrents=[True, True, True, False],
            layerscales=[False, False, False, False])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[80, 160, 320, 512], depths=[4, 8, 25, 8], num_heads=[5, 5, 10, 16],
            mlp_ratios=[4, 4, 3, 3], init_values=[2, 2, 2, 2], heads_ranges=[5, 5, 6, 6],
            chunkwise_recurrents=[True, True, True, False],
            layerscales=[False, False, True, True], layer_init_values=1e-6)),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[112, 224, 448, 640], depths=[4, 8, 25, 8], num_heads=[7, 7, 14, 20],
            mlp_ratios=[4, 4, 3, 3], init_values=[2, 2, 2, 2], heads_ranges=[6, 6, 6, 6],
            chunkwise_recurrents=[True, True, True, False],
            layerscales=[False, False, True, True], layer_init_values=1e-6)),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads')
    arch_extra_keys = ('mlp_ratios', 'init_values', 'heads_ranges', 'chunkwise_recurrents',
                       'layerscales')
    official_prefixes = ('patch_embed.', 'layers.')
    # The stem class (a subclass may swap it: RMTSwin).
    stem_cls = RMTStem
    # The official classifier: proj (Linear C -> 1024) and norm (BatchNorm) before pooling, head.
    official_head_prefixes = {'proj.': 'neck.proj.', 'norm.': 'neck.norm.', 'head.': 'head.fc.'}
    checkpoint_ignored = {
        r'proj\.': "the official classifier's 1x1 projection before pooling (RMTClsNeck.proj in "
                   'mmpretrain)',
        r'norm\.': "the official classifier's BatchNorm after that projection (RMTClsNeck.norm)",
        r'head\.': "the official classifier's Linear head",
        r'norm[0-3]\.': 'the norm of an output this backbone does not return (out_indices)',
    }
    checkpoint_optional = {
        **MultiScaleBackbone.checkpoint_optional,
        r'norm[0-3]\.': 'the per-output LayerNorms: the official classifier has none (its '
                        'detection and segmentation backbones have them as extra_norms)',
    }

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = NORM_CFG,
                 out_norm_cfg: Optional[dict] = OUT_NORM_CFG,
                 act_cfg: dict = ACT_CFG,
                 conv_norm_cfg: dict = CONV_NORM_CFG,
                 with_cp: Union[bool, str] = False,
                 pretrain_img_size: int = 224,
                 img_size: int = 224,
                 init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, in_channels=in_channels, out_indices=out_indices,
                         frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp,
                         drop_path_rate=drop_path_rate, init_cfg=init_cfg)
        check_norm_cfg(norm_cfg)
        if out_norm_cfg is not None:
            check_norm_cfg(out_norm_cfg, 'out_norm_cfg')
        for name, size in (('pretrain_img_size', pretrain_img_size), ('img_size', img_size)):
            if isinstance(size, bool) or not isinstance(size, (int, float)) or not size > 0:
                raise ValueError(f'{name} must be a positive number (a resolution in pixels), '
                                 f'got {size!r}')
        self.decay_exponent = pretrain_img_size / img_size
        s = self.arch_settings
        dims = s['embed_dims']
        layer_init = s.get('layer_init_values', LAYER_INIT_VALUES)
        drop_paths = self.stage_drop_path_rates()

        # Stem (stride 4); four stages of RMT blocks, each but the last ending in the patch
        # merging (stride 2) into the next.
        self.patch_embed = self.stem_cls(in_channels=in_channels, embed_dims=dims[0],
                                         conv_norm_cfg=conv_norm_cfg, act_cfg=act_cfg)
        self.layers = nn.ModuleList(
            RMTStage(embed_dims=dims[i],
                     out_dims=dims[i + 1] if i < self.num_stages - 1 else None,
                     depth=s['depths'][i],
                     num_heads=s['num_heads'][i],
                     init_value=s['init_values'][i],
                     heads_range=s['heads_ranges'][i],
                     mlp_ratio=s['mlp_ratios'][i],
                     decomposed=s['chunkwise_recurrents'][i],
                     drop_paths=drop_paths[i],
                     layer_scale_init=layer_init if s['layerscales'][i] else None,
                     decay_exponent=self.decay_exponent,
                     norm_cfg=norm_cfg,
                     act_cfg=act_cfg,
                     conv_norm_cfg=conv_norm_cfg)
            for i in range(self.num_stages))
        # A LayerNorm per output (detection / segmentation), none for the official classifier.
        self.with_out_norms = out_norm_cfg is not None
        if self.with_out_norms:
            for i in self.out_indices:
                self.add_module(self.out_norm_names[i], build_norm_layer(out_norm_cfg, dims[i])[1])
        self._finish_init()

    # ----------------------------------------------------------------------------- arguments
    @classmethod
    def _check_arch(cls, settings: dict) -> None:
        super()._check_arch(settings)
        n = cls.num_stages
        for key, low, strict in (('mlp_ratios', 0, True), ('init_values', 0, True),
                                 ('heads_ranges', 0, False)):
            if not _numbers(settings[key], n, low, strict):
                raise ValueError(f"arch[{key!r}] must be {n} numbers {'>' if strict else '>='} "
                                 f'{low}, got {settings[key]!r}')
        for key in ('chunkwise_recurrents', 'layerscales'):
            value = settings[key]
            if not (isinstance(value, (list, tuple)) and len(value) == n
                    and all(isinstance(v, bool) for v in value)):
                raise ValueError(f'arch[{key!r}] must be {n} bools, got {value!r}')
        init = settings.get('layer_init_values', LAYER_INIT_VALUES)
        if not _numbers([init], 1, 0, True):
            raise ValueError(f"arch['layer_init_values'] must be a number > 0, got {init!r}")
        for dims, heads in zip(settings['embed_dims'], settings['num_heads']):
            if (dims // heads) % 2:
                raise ValueError(f"arch['embed_dims'] {settings['embed_dims']} over arch['num_heads'] "
                                 f"{settings['num_heads']} must give an even number of channels per "
                                 f'head in every stage (the rotary position turns channel pairs)')

    # ----------------------------------------------------------------------------- family hooks
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        if stage == 0:
            return [self.patch_embed]
        layer = self.layers[stage - 1]
        mods = [layer.blocks, layer.Relpos]
        if stage > 1:
            mods.append(self.layers[stage - 2].downsample)
        return mods

    def _param_position(self, name: str):
        parts = name.split('.')
        if parts[0] == 'patch_embed':
            return 0, 'first'
        if parts[0] == 'layers' and len(parts) > 3:
            i = int(parts[1])
            if parts[2] == 'downsample':
                return i + 2, 'first'
            return i + 1, int(parts[3]) if parts[2] == 'blocks' else 'first'
        if parts[0] in self.out_norm_names:
            return self.out_norm_names.index(parts[0]) + 1, 'last'
        return None

    def init_official(self) -> None:
        """The official ``_init_weights`` (``VisRetNet`` and the detection ``RMT``):
        trunc-normal std 0.02 on every Linear weight, zero biases, LayerNorms 1/0; convolutions,
        BatchNorms and layer scale keep their construction values (PyTorch defaults, 1e-6)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_init(m, std=.02, bias=0.)
            elif isinstance(m, nn.LayerNorm):
                constant_init(m, val=1., bias=0.)

    @classmethod
    def convert_state_dict(cls, state: dict) -> dict:
        """Official names to ours: the detection/segmentation ``extra_norms.{i}`` are ``norm{i}``
        (the classifier's ``proj``, ``norm`` and ``head`` are :attr:`checkpoint_ignored`)."""
        out = {}
        for k, v in state.items():
            if k.startswith('extra_norms.'):
                _, index, rest = k.split('.', 2)
                k = f'norm{index}.{rest}'
            out[k] = v
        return out

    # ----------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        self.check_input(x)
        x = self.patch_embed(x)  # channels-last from here on, as in the official code
        outs = []
        for i, layer in enumerate(self.layers):
            out, x = layer(x, with_cp=self.with_cp)
            if i in self.out_indices:
                if self.with_out_norms:
                    out = self.out_norm(i)(out)
                outs.append(out.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
