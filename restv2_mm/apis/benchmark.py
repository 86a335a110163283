"""The rows of ``tools/analysis_tools/benchmark.py``: which models it times, at which inputs, and
how each is built (random weights); :mod:`restv2_mm.analysis.benchmark` times them.

Suites (all rows of a group are timed side by side, in interleaved rounds):

- ``reference``: the ResTv2-T backbone as shipped (``ours``) and the eager reference
  (:mod:`restv2_mm.analysis.eager_reference`: the official code's computation with ``q @ k^T``,
  softmax, ``@ v``) on the same weights, at 224 (batch 8 on CPU, 64 on GPU), 1333x800 (an 800x1344
  padded input, batch 1) and 2048x512 (batch 1), with the largest output difference.
- ``train``: one training step (forward + backward) of the eager reference and of ours without
  checkpointing, with ``with_cp='selective'`` and with ``with_cp='full'``, at 224 (batch 8 / 64),
  1333x800 and 2048x512 (batch 1 and 2): step time and training activation memory.
- ``rmt``: the RMT-T and RMT-S backbones (``ours``) against the official code (``official``) on the
  same weights, at the layouts of :data:`restv2_mm.analysis.RMT_LAYOUTS`: inference and one
  training step. The official rows need an ``official_pair`` builder, which the tool loads from
  the development checkout (the package never runs third-party files); without one only ours run.
- ``models``: backbones at 224 (batch 8 / 64) and whole Mask R-CNN (1280x800) and UperNet
  (2048x512) models, ResTv2-T against RMT-T (our configs) and Swin-T, ConvNeXt-T and PVTv2-B2 built
  from the stock mmdet / mmseg / mmpretrain configs (paper Tables 1, 4, 5), tensor forward without
  post-processing (:class:`restv2_mm.apis.TensorForward`).
- ``styles``: the ResTv2-T backbone in the four fine-tuning styles at 1280x800 (paper 5.1).
- configs: the whole models of any configs, side by side at their task's paper size (224 at batch
  8 / 64 for classifiers), each setting overridable (``cfg_options``).
"""
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..analysis import RMT_ARCHS, RMT_LAYOUTS, activation_memory, eager_forward, rmt_backbone
from ..models import ResTv2
from ..utils.paths import mim_root
from .config_model import build_model, config_scope, load_config
from .model_inputs import TensorForward, fixed_input

SIZES = {'224': (224, 224), '1333x800': (800, 1344), '1280x800': (800, 1280),
         '2048x512': (512, 2048), '512x512': (512, 512)}
SUITES = ('reference', 'train', 'rmt', 'models', 'styles')
SIZE_OF_SCOPE = {'mmdet': '1280x800', 'mmseg': '2048x512', 'mmpretrain': '224'}
OURS = {'mmdet': 'configs/mmdet/mask_rcnn_restv2_t_3x.py',
        'mmseg': 'configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py',
        'mmpretrain': 'configs/mmpretrain/restv2_t_8xb256_in1k.py'}
STOCK = {  # (backbone config at 224, Mask R-CNN, UperNet); None where the library has none
    'RMT-T': ('configs/mmpretrain/rmt_t_8xb128_in1k.py', 'configs/mmdet/mask_rcnn_rmt_t_1x.py',
              'configs/mmseg/upernet_rmt_t_512x512_160k_ade20k.py'),
    'Swin-T': ('mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py',
               'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
               'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'),
    'ConvNeXt-T': ('mmpretrain::convnext/convnext-tiny_32xb128_in1k.py',
                   'mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py',
                   'mmseg::convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py'),
    'PVTv2-B2': ('mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py', None, None),
}
# (official, ours) on the same weights, from (arch, chunkwise_recurrents, official checkout).
OfficialPair = Callable[[str, Tuple[bool, ...], str], Tuple[nn.Module, nn.Module]]


def _load(config: str):
    """A stock ``lib::path`` config, or ours by its path in the repository."""
    return load_config(config if '::' in config else osp.join(mim_root(), config))


def _rmt_rows(small: int, official_root: Optional[str]) -> List[dict]:
    rows = []
    for arch in RMT_ARCHS:
        for size, (batch, _, _, chunkwise) in RMT_LAYOUTS.items():
            batch = small if size == '224' else batch
            for train in (False, True):
                spec = dict(group=f'RMT-{arch.upper()} {size} x{batch}' + (' train' if train else ''),
                            kind='rmt', arch=arch, size=size, batch=batch, chunkwise=chunkwise[arch],
                            train=train, official_root=official_root)
                if official_root is not None:
                    rows.append(dict(spec, name='official', impl='official', base=True))
                rows.append(dict(spec, name='ours', impl='ours', base=official_root is None))
    return rows


def _model_rows(small: int) -> List[dict]:
    rows = [dict(group='backbone 224', name='ResTv2-T', kind='backbone', config=OURS['mmpretrain'],
                 size='224', batch=small, base=True)]
    rows += [dict(group='backbone 224', name=name, kind='backbone', config=bb, size='224',
                  batch=small) for name, (bb, _, _) in STOCK.items()]
    for group, index, size, ours in (('Mask R-CNN 1280x800', 1, '1280x800', OURS['mmdet']),
                                     ('UperNet 2048x512', 2, '2048x512', OURS['mmseg'])):
        rows.append(dict(group=group, name='ResTv2-T', kind='model', config=ours, size=size,
                         batch=1, base=True))
        rows += [dict(group=group, name=name, kind='model', config=configs[index], size=size,
                      batch=1) for name, configs in STOCK.items() if configs[index]]
    return rows


def benchmark_rows(suites: Sequence[str], device: str = 'cpu', configs: Sequence[str] = (),
                   cfg_options: Optional[dict] = None, official_root: Optional[str] = None,
                   only: Optional[str] = None) -> List[dict]:
    """The row specs of ``suites`` and ``configs`` (plain dicts: a fresh process rebuilds a row
    from its JSON with :func:`build_benchmark_row`).

    Args:
        suites: Among :data:`SUITES` (see the module docstring).
        device: 'cpu' or 'cuda' (batch 64 instead of 8 at 224).
        configs: Configs whose whole models are timed side by side (the first is the base).
        cfg_options: Settings merged into every one of ``configs``.
        official_root: The official RMT checkout for the ``rmt`` suite's official rows; None: ours
            only, each its group's base.
        only: Keep the rows whose ``'group: name'`` matches this regular expression (re.search).

    Raises:
        ValueError: an unknown suite, or ``only`` that matches no row.
    """
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise ValueError(f'suites must be among {SUITES}, got {unknown}')
    small = 64 if device == 'cuda' else 8
    rows = _rmt_rows(small, official_root) if 'rmt' in suites else []
    for i, config in enumerate(configs):
        size = SIZE_OF_SCOPE[config_scope(_load(config), config)]
        rows.append(dict(group='configs', name=osp.basename(config), kind='model', config=config,
                         size=size, batch=small if size == '224' else 1, base=i == 0,
                         cfg_options=cfg_options or {}))
    if 'reference' in suites:
        for size, batch in (('224', small), ('1333x800', 1), ('2048x512', 1)):
            group = f'reference {size}'
            rows += [dict(group=group, name='eager reference', kind='restv2', impl='eager',
                          size=size, batch=batch, base=True),
                     dict(group=group, name='ours', kind='restv2', impl='ours', size=size,
                          batch=batch)]
    if 'train' in suites:
        for size, batch in (('224', small), ('1333x800', 1), ('1333x800', 2), ('2048x512', 1),
                            ('2048x512', 2)):
            group = f'train {size} x{batch}'
            rows.append(dict(group=group, name='eager reference', kind='restv2', impl='eager',
                             size=size, batch=batch, train=True, base=True))
            rows += [dict(group=group, name=name, kind='restv2', impl='ours', size=size, batch=batch,
                          train=True, with_cp=mode)
                     for mode, name in ((False, 'ours'), ('selective', 'ours, with_cp=selective'),
                                        ('full', 'ours, with_cp=full'))]
    if 'models' in suites:
        rows += _model_rows(small)
    if 'styles' in suites:
        rows += [dict(group='styles 1280x800', name=style, kind='restv2', impl='ours', style=style,
                      size='1280x800', batch=1, base=style == 'global')
                 for style in ('global', 'win', 'cwin', 'hwin')]
    if only:
        pattern = re.compile(only)
        rows = [r for r in rows if pattern.search(f'{r["group"]}: {r["name"]}')]
        if not rows:
            raise ValueError(f'--only {only!r} matches no row of the chosen suites')
    return rows


def _forward(model, x):
    return model(x)


def build_benchmark_row(row: dict, device: str = 'cpu', official_pair: Optional[OfficialPair] = None
                        ) -> Tuple[nn.Module, Callable, torch.Tensor]:
    """(module in eval mode on ``device``, forward ``fn(module, x)``, input) of a row, with seeded
    random weights.

    Args:
        official_pair: Builds the ``rmt`` rows' (official, ours) pair on the same weights; needed
            for a row with ``official_root``.

    Raises:
        ValueError: an ``rmt`` row with an official checkout but no ``official_pair``.
    """
    torch.manual_seed(0)
    h, w = SIZES[row['size']]
    fn = _forward
    if row['kind'] == 'rmt':
        if row['official_root'] is None:
            model = rmt_backbone(row['arch'], row['chunkwise'])
            model.init_weights()
        elif official_pair is None:
            raise ValueError(f'{row["group"]}: the official rows need official_pair (the official '
                             'RMT loader of the development checkout)')
        else:
            pair = official_pair(row['arch'], tuple(row['chunkwise']), row['official_root'])
            model = pair[0] if row['impl'] == 'official' else pair[1]
        x = torch.randn(row['batch'], 3, h, w)
    elif row['kind'] == 'restv2':
        model = ResTv2('tiny', style=row.get('style', 'global'), with_cp=row.get('with_cp', False))
        model.init_weights()
        fn = eager_forward if row['impl'] == 'eager' else _forward
        x = torch.randn(row['batch'], 3, h, w)
    else:
        cfg = _load(row['config'])
        if row.get('cfg_options'):
            cfg.merge_from_dict(row['cfg_options'])
        scope = config_scope(cfg, row['config'])
        model = build_model(cfg, name=row['config'])
        if row['kind'] == 'backbone':
            model, x = model.backbone, torch.randn(row['batch'], 3, h, w)
        else:
            x, samples = fixed_input(scope, (h, w), row['batch'])
            model = TensorForward(model, scope, samples)
    model.to(device).eval()  # some backbones' train() (Swin's) returns None, not the module
    return model, fn, x.to(device)


def memory_modes(row: dict) -> Tuple[str, ...]:
    """What memory a row's table shows: a training step's for ``train`` rows, inference and
    training for the ``reference`` suite, inference for the rest."""
    if row.get('train'):
        return ('train', )
    return ('infer', 'train') if row['group'].startswith('reference') else ('infer', )


def benchmark_row_memory(row: dict, mode: str, device: str = 'cpu',
                         official_pair: Optional[OfficialPair] = None) -> float:
    """Activation memory (MB) of one forward (``mode='infer'``) or training step (``'train'``) of
    a row, to be run in a fresh process (:func:`restv2_mm.analysis.memory_in_fresh_process`)."""
    return activation_memory(*build_benchmark_row(row, device, official_pair), mode, device)


def memory_columns(row: dict, measure: Callable[[dict, str], Optional[float]]
                   ) -> Dict[str, Optional[float]]:
    """``{'infer_mb': MB, ...}`` of a row: each mode of :func:`memory_modes`, measured by
    ``measure(row, mode)`` (e.g. in a fresh process)."""
    return {f'{mode}_mb': measure(row, mode) for mode in memory_modes(row)}
