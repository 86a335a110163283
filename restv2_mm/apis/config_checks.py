"""What a config must satisfy, checked before anything is built: data roots that exist, and model
settings that fit our backbones' outputs."""
import importlib
import os.path as osp
from typing import Optional, Sequence, Type

from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS

from ..models import MultiScaleBackbone

# Necks that list their input levels deepest first.
REVERSED_NECKS = ('YOLOV3Neck', 'mmdet.YOLOV3Neck')


def backbone_class(backbone: Optional[dict], scope: Optional[str] = None) -> Optional[type]:
    """The class a backbone config builds, looked up as the registry would (``'ResTv2'``,
    ``'mmdet.ResTv2'``, a subclass registered under another name, or a class object), or None
    where the type is unknown.

    Args:
        backbone: ``model.backbone`` of a config.
        scope: The config's default scope (``'mmdet'``, ``'mmseg'``, ``'mmpretrain'``); None looks
            in mmengine's root registry.
    """
    if not isinstance(backbone, dict):
        return None
    kind = backbone.get('type')
    if isinstance(kind, type):
        return kind
    if not isinstance(kind, str):
        return None
    registry = ROOT_MODELS
    if scope:
        try:
            registry = importlib.import_module(f'{scope}.registry').MODELS
        except ImportError:
            pass
    try:
        return registry.get(kind)
    except KeyError:  # mmengine raises for an unknown scope prefix
        return None


def our_backbone(backbone: Optional[dict], scope: Optional[str] = None
                 ) -> Optional[Type[MultiScaleBackbone]]:
    """The class of ``backbone`` if it is one of ours (a :class:`MultiScaleBackbone`), else None."""
    cls = backbone_class(backbone, scope)
    return cls if isinstance(cls, type) and issubclass(cls, MultiScaleBackbone) else None


def check_model_channels(model: Optional[dict], scope: Optional[str] = None) -> None:
    """Check that what reads one of our backbones' outputs expects its channels.

    Compares ``model.neck.in_channels`` (FPN and the like; deepest first for YOLOv3's neck),
    else ``model.decode_head.in_channels`` at its ``in_index`` (mmseg without a neck), else
    ``model.head.in_channels`` (a classifier, last output), with the backbone class's
    ``output_channels(arch, out_indices)``.

    Raises:
        ValueError: names both settings and their values.
    """
    if not isinstance(model, dict):
        return
    backbone = model.get('backbone')
    cls = our_backbone(backbone, scope)
    if cls is None:
        return
    arch = backbone.get('arch', 'tiny')
    out_indices = backbone.get('out_indices', (0, 1, 2, 3))
    outs = list(cls.output_channels(arch, out_indices))
    source = f'model.backbone ({cls.__name__} arch={arch!r}, out_indices={tuple(out_indices)})'
    neck = model.get('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    head = model.get('decode_head')
    if isinstance(neck, dict) and 'in_channels' in neck:
        name, got, expected = 'model.neck.in_channels', neck['in_channels'], outs
        if isinstance(got, int):
            expected = outs[-1]
        elif str(neck.get('type', '')) in REVERSED_NECKS:
            expected = outs[::-1]
    elif isinstance(head, dict) and isinstance(head.get('in_channels'), (list, tuple)):
        index = head.get('in_index', list(range(len(outs))))
        index = [index] if isinstance(index, int) else list(index)
        if any(not -len(outs) <= i < len(outs) for i in index):
            raise ValueError(f'model.decode_head.in_index={index} points past the {len(outs)} '
                             f'outputs of {source}')
        name, got, expected = 'model.decode_head.in_channels', head['in_channels'], \
            [outs[i] for i in index]
    elif isinstance(model.get('head'), dict) and isinstance(model['head'].get('in_channels'), int):
        name, got, expected = 'model.head.in_channels', model['head']['in_channels'], outs[-1]
    else:
        return
    got = list(got) if isinstance(got, (list, tuple)) else got
    if got != expected:
        raise ValueError(f'{name}={got} does not match the channels {expected} of {source}; '
                         f'set {name}={expected} or change the backbone\'s out_indices')


def check_data_roots(cfg: Config, loaders: Sequence[str], name: Optional[str] = None) -> None:
    """Fail early, naming the setting, when a dataloader's ``dataset.data_root`` does not exist.

    ``name`` (the config path) starts the message where a tool handles several configs.

    Raises:
        FileNotFoundError: ``<loader>.dataset.data_root`` (or the wrapped dataset's) is missing.
    """
    for key in loaders:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        setting, dataset = f'{key}.dataset', loader.get('dataset')
        while isinstance(dataset, dict) and 'data_root' not in dataset and \
                isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalancedDataset
            setting, dataset = setting + '.dataset', dataset['dataset']
        root = dataset.get('data_root') if isinstance(dataset, dict) else None
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{name + ": " if name else ""}{setting}.data_root={root!r} does not exist. Point '
                f'it at the dataset (--cfg-options {setting}.data_root=PATH; the demo configs read '
                f'$RESTV2_DATA, the folder that holds coco_mini/, ade_mini/, ...)')
