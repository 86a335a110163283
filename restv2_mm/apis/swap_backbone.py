"""Put one of our backbones into any stock mmdet / mmseg / mmpretrain config.

    from restv2_mm.apis import load_config, swap_backbone
    cfg = swap_backbone(load_config('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'),
                        dict(type='ResTv2', arch='tiny', drop_path_rate=0.1))

:func:`plan_swap` finds the levels the framework reads (by running the stock backbone,
:mod:`.stock_levels`), picks our ``out_indices`` for them and rewrites every place that holds
their channels or strides (:mod:`.swap_rules`); the plan applies to the stock config
(:func:`swap_backbone`) or writes a config file that inherits it (:meth:`BackboneSwap.text`).
"""
import os.path as osp
from typing import List, Optional, Tuple, Union

from mmengine.config import Config

from ..models import RMT, MultiScaleBackbone, ResTv1, ResTv2, RMTSwin
from .config_checks import our_backbone
from .config_edits import Change, ConfigEdits, plain
from .config_model import config_scope
from .config_text import config_text
from .stock_levels import OUR_STRIDES, Levels, SwapError, match_levels, stock_levels
from .swap_rules import Swap, check_framework, rewrite_readers, unread_levels

# The normalisation our ImageNet checkpoints were trained with (RGB, ImageNet mean and std in
# 0..255; the official ResT and RMT data pipelines, timm's IMAGENET_DEFAULT_MEAN/STD).
IMAGENET_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
# Layer-wise lr decay that parses ConvNeXt's or BEiT's parameter names; ours asks the backbone.
STOCK_DECAY_CONSTRUCTORS = {
    'LearningRateDecayOptimizerConstructor': 'decay_rate',
    'LayerDecayOptimizerConstructor': 'layer_decay_rate',
}
OUR_DECAY_CONSTRUCTOR = 'ResTv2LearningRateDecayOptimizerConstructor'
# --backbone names: family-arch -> (class, arch).
SWAP_BACKBONES = {
    **{f'restv2-{a}': (ResTv2, a) for a in ('tiny', 'small', 'base', 'large')},
    **{f'restv1-{a}': (ResTv1, a) for a in ('lite', 'small', 'base', 'large')},
    **{f'rmt-{a}': (RMT, a) for a in ('tiny', 'small', 'base', 'large')},
    **{f'rmt-swin-{a}': (RMTSwin, a) for a in ('tiny', 'small')},
}


def backbone_config(name: str, **options) -> dict:
    """The backbone config of a ``--backbone`` name (``'restv2-tiny'``, ``'rmt-swin-small'``, see
    ``SWAP_BACKBONES``) with extra arguments (``style='win'``, ``drop_path_rate=0.1``).

    Raises:
        ValueError: an unknown name (lists the known ones).
    """
    if name not in SWAP_BACKBONES:
        raise ValueError(f'backbone must be one of {sorted(SWAP_BACKBONES)}, got {name!r}')
    cls, arch = SWAP_BACKBONES[name]
    return dict(type=cls.__name__, arch=arch, **options)


class BackboneSwap:
    """A planned swap: the stock config's overrides, each change with its reason, and notes.

    Attributes:
        edits (ConfigEdits): the overrides (``edits.tree``) and ``edits.changes``.
        notes (list[str]): what a user should know (levels matched by depth, a neck dropped).
        stock (Levels): channels and strides of the stock levels the framework reads.
        out_indices (tuple[int]): our stages in their place.
    """

    def __init__(self, edits: ConfigEdits, notes: List[str], stock: Levels,
                 out_indices: Tuple[int, ...], name: str):
        self.edits, self.notes, self.stock, self.out_indices = edits, notes, stock, out_indices
        self.name = name

    @property
    def changes(self) -> List[Change]:
        return self.edits.changes

    def apply(self, cfg: Config) -> Config:
        """``cfg`` (the stock config planned from) with the swap applied."""
        return self.edits.apply(cfg)

    def check_file(self, path: str, cfg: Config) -> None:
        """Check that the config file at ``path`` (written by :meth:`text`) builds the model and
        optimizer this swap of ``cfg`` plans, read as tools/train.py reads it.

        Raises:
            RuntimeError: names the first setting that differs.
        """
        written, planned = Config.fromfile(path), self.apply(cfg)
        for key in ('model', 'optim_wrapper', 'find_unused_parameters'):
            got, want = (plain(c.get(key), drop=('_scope_', )) for c in (written, planned))
            if got != want:
                raise RuntimeError(f'{path}: {key} differs from the planned swap: {got} != {want}')

    def text(self, base: str, out: Optional[str] = None) -> str:
        """A config file that inherits ``base`` (a stock name such as ``'mmdet::dino/...py'`` or a
        path) and makes the swap, its changes and notes as comments. A relative ``base`` path is
        written relative to the folder of ``out``, where the file will be."""
        if '::' not in base and out is not None:
            base = osp.relpath(osp.abspath(base), osp.dirname(osp.abspath(out)))
        header = [f'{base.split("::")[-1]} with {self.name} '
                  '(tools/misc/swap_backbone.py).', 'Changed from the stock config:']
        header += [f'  {c.field}: {c.why}' for c in self.changes if c.why]
        header += [f'Note: {n}' for n in self.notes]
        settings = {'custom_imports': dict(imports=['restv2_mm'], allow_failed_imports=False)}
        settings.update(self.edits.tree)
        return config_text(base, settings, header)


def _owner(cfg: Config) -> Tuple[str, ...]:
    model = cfg.get('model')
    if not isinstance(model, dict):
        raise SwapError('model', 'the config has no model')
    if 'backbone' in model:
        return ('model', )
    if isinstance(model.get('detector'), dict) and 'backbone' in model['detector']:
        return ('model', 'detector')  # semi-supervised wrappers (SoftTeacher)
    raise SwapError('model.backbone', f'the model ({model.get("type")}) has no backbone to swap')


def plan_swap(cfg: Config, backbone: dict) -> BackboneSwap:
    """Plan putting ``backbone`` into the stock ``cfg`` in place of its backbone.

    Our ``out_indices`` (unless ``backbone`` sets them) are the stages with the strides of the
    stock levels the framework reads (:func:`.stock_levels.match_levels`); then every module that
    reads them gets our channels (:mod:`.swap_rules`), and the config: ``model.pretrained=None``
    (mmseg passes it to the backbone), our backbones' input normalisation (RGB, ImageNet
    mean/std) in the data preprocessor, our layer-wise lr decay in place of ConvNeXt's or BEiT's
    (which parse those models' parameter names), and ``find_unused_parameters=True`` where some
    level is read by no module or stages are built past the last level read (their parameters get
    no gradient, which DDP refuses otherwise).

    Args:
        cfg: A stock config (``load_config('mmdet::...')``), with ``default_scope`` mmdet, mmseg or
            mmpretrain.
        backbone: Our backbone's config: ``type`` ResTv2 (any ``style``), ResTv1, RMT or RMTSwin,
            ``arch`` and any of its arguments.

    Returns:
        BackboneSwap.

    Raises:
        TypeError: ``backbone`` is not one of ours.
        SwapError (a ValueError): where the framework's expectation cannot be met; ``field`` and
            the message name the setting (``model.roi_head.shared_head``, ``model.neck.rfp_backbone``,
            ``model.backbone.out_indices``, ...).
        ValueError: a config of another scope, a bad ``arch`` or ``out_indices``.
    """
    scope = config_scope(cfg)
    cls = our_backbone(backbone, scope)
    if cls is None or not issubclass(cls, MultiScaleBackbone):
        raise TypeError(f'backbone must be one of ours (type ResTv2, ResTv1, RMT or RMTSwin), '
                        f'got {backbone!r}')
    owner = _owner(cfg)
    edits = ConfigEdits(cfg)
    check_framework(edits, owner)
    stock = stock_levels(edits.get(owner + ('backbone', )), scope)
    field = '.'.join(owner + ('backbone', 'out_indices'))
    notes = []
    if 'out_indices' in backbone:
        cls.output_channels(backbone.get('arch', 'tiny'), backbone['out_indices'])  # checks them
        given = backbone['out_indices']
        out_indices = tuple(sorted(i % len(OUR_STRIDES) for i in ([given] if isinstance(given, int)
                                                                   else given)))
        if len(out_indices) != len(stock.strides):
            raise SwapError(field, f'{tuple(backbone["out_indices"])} gives {len(out_indices)} '
                            f'levels; the framework reads {len(stock.strides)} (strides '
                            f'{stock.strides})')
    else:
        out_indices, note = match_levels(stock.strides, field)
        notes += [note] if note else []
    arch = backbone.get('arch', 'tiny')
    ours = Levels(tuple(cls.output_channels(arch, out_indices)),
                  tuple(OUR_STRIDES[i] for i in out_indices))
    name = f'{cls.__name__}-{arch}' if isinstance(arch, str) else cls.__name__
    new = dict(_delete_=True, **{k: v for k, v in backbone.items() if k != 'out_indices'})
    new['out_indices'] = out_indices
    edits.set(owner + ('backbone', ), new, f'{name}, levels at strides {ours.strides}')
    swap = Swap(edits, owner, stock, ours, scope, name)
    swap.notes = notes
    if edits.get(owner + ('pretrained', ), None):
        edits.set(owner + ('pretrained', ), None, 'the stock backbone\'s weights')
    rewrite_readers(swap)
    _normalisation(swap)
    _lr_decay(swap)
    unread = unread_levels(swap)
    last = max(out_indices)
    if (unread or last < len(OUR_STRIDES) - 1) and not cfg.get('find_unused_parameters'):
        why = (f'no module reads level(s) {unread}: their output norms get no gradient' if unread
               else f'the stages after level {last} are built but get no gradient')
        edits.set(('find_unused_parameters', ), True, why)
    return BackboneSwap(edits, swap.notes, stock, out_indices, name)


def _normalisation(swap: Swap) -> None:
    # The detector's preprocessor, and in a semi-supervised wrapper the one that runs (the
    # wrapper's MultiBranchDataPreprocessor holds a copy).
    paths = {swap.owner + ('data_preprocessor', ), ('model', 'data_preprocessor', 'data_preprocessor'),
             ('model', 'data_preprocessor')}
    for path in sorted(paths):
        preprocessor = swap.edits.get(path, None)
        if not isinstance(preprocessor, dict) or 'Multi' in str(preprocessor.get('type', '')):
            continue
        for key, value in IMAGENET_NORM.items():
            if preprocessor.get(key) != value:
                swap.edits.set(path + (key, ), value,
                               "our backbones' input normalisation (RGB, ImageNet)")


def _lr_decay(swap: Swap) -> None:
    wrapper = swap.edits.get(('optim_wrapper', ), None)
    kind = str(wrapper.get('constructor', '')).split('.')[-1] if isinstance(wrapper, dict) else ''
    if kind not in STOCK_DECAY_CONSTRUCTORS:
        return
    stock = dict(wrapper.get('paramwise_cfg') or {})
    rate = stock.pop(STOCK_DECAY_CONSTRUCTORS[kind], 1.0)
    stock.pop('num_layers', None)
    decay_type = stock.pop('decay_type', 'layer_wise')
    swap.edits.set(('optim_wrapper', 'constructor'), OUR_DECAY_CONSTRUCTOR,
                   f'{kind} parses ConvNeXt/BEiT parameter names; ours asks the backbone')
    swap.edits.set(('optim_wrapper', 'paramwise_cfg'),
                   dict(_delete_=True, decay_rate=rate, decay_type=decay_type, **stock),
                   'the same decay by our backbone\'s depths')


def swap_backbone(cfg: Config, backbone: Union[dict, str], **options) -> Config:
    """``cfg`` with ``backbone`` in place of its backbone and every setting that depends on it
    rewritten (see :func:`plan_swap`); ``cfg`` itself is left as it was.

    Args:
        cfg: A stock config.
        backbone: Our backbone's config, or a name of ``SWAP_BACKBONES`` (``'restv2-tiny'``).
        **options: Extra backbone arguments for a name (``drop_path_rate=0.1``).

    Raises:
        As :func:`plan_swap` and :func:`backbone_config`.
    """
    if isinstance(backbone, str):
        backbone = backbone_config(backbone, **options)
    return plan_swap(cfg, backbone).apply(cfg)
