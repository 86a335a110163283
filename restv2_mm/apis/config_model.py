"""The model of any mmdet / mmseg / mmpretrain config: the config loaded (ours or a stock one), its
scope, and its model built with random weights."""
import importlib
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from ..models import ResTv2
from .config_checks import check_model_channels, our_backbone

SCOPES = ('mmdet', 'mmseg', 'mmpretrain')


def load_config(path: str) -> Config:
    """A config file, or a stock one named like ``mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py``.

    Raises:
        FileNotFoundError: no such file.
    """
    if '::' in path:
        from mmengine.hub import get_config
        return get_config(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config not found: {path!r}')
    return Config.fromfile(path)


def config_scope(cfg: Config, name: str = 'config') -> str:
    """The config's default scope, one of mmdet / mmseg / mmpretrain.

    Raises:
        ValueError: the config names another scope (or none).
    """
    scope = cfg.get('default_scope')
    if scope not in SCOPES:
        raise ValueError(f'{name}: default_scope must be one of {SCOPES}, got {scope!r}')
    return scope


def build_model(cfg: Config, style: Optional[str] = None, name: str = 'config') -> nn.Module:
    """Build ``cfg.model`` under its scope, in eval mode, SyncBN reverted to BN, random weights.

    Args:
        cfg: The config.
        style: Rebuild the ResTv2 backbone in this fine-tuning style (paper 5.1).

    Our backbones are recognised through the registry (``'ResTv2'``, ``'mmdet.ResTv2'``,
    subclasses), so scoped and subclassed types work.
        name: Used in error messages (the config path).

    Raises:
        ValueError: ``style`` is given but the backbone is not ResTv2.
    """
    scope = config_scope(cfg, name)
    check_model_channels(cfg.get('model'), scope)
    init_default_scope(scope)
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone', {})
    cls = our_backbone(backbone, scope)
    if style is not None:
        if cls is None or not issubclass(cls, ResTv2):
            raise ValueError(f'{name}: --styles needs a ResTv2 backbone, this config has '
                             f'{backbone.get("type")!r}')
        model_cfg.backbone = dict(backbone, style=style)
    if cls is not None:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)  # no checkpoint needed
    model_cfg.pop('pretrained', None)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    return revert_sync_batchnorm(registry.build(model_cfg)).eval()
