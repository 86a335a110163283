"""Build any mmdet / mmseg / mmpretrain config's model and feed it for FLOPs and latency."""
import importlib
import os.path as osp
from typing import Iterator, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from ..models import ResTv2
from .config_checks import check_data_roots, check_model_channels, our_backbone

# Paper input sizes (H, W): Table 4 (1280x800), Table 5 (2048x512), Table 1 (224).
DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 2048), 'mmpretrain': (224, 224)}
SCOPES = tuple(DEFAULT_SHAPES)


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


class TensorForward(nn.Module):
    """The model's tensor forward without post-processing, as ``forward(inputs)`` for tracing.

    Detection: backbone, neck, RPN proposals and RoI heads (``_forward``); segmentation: backbone,
    neck, decode head; classification: backbone, neck and head.

    Shape:
        inputs (N, 3, H, W) -> the model's raw head outputs (tensors or tuples of tensors).
    """

    def __init__(self, model: nn.Module, scope: str, data_samples: Optional[list] = None):
        super().__init__()
        self.model = model
        self.scope = scope
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor):
        if self.scope == 'mmpretrain':
            return self.model(inputs, mode='tensor')
        return self.model._forward(inputs, self.data_samples)


def fixed_input(scope: str, shape: Tuple[int, int], batch_size: int = 1,
                device: str = 'cpu') -> Tuple[torch.Tensor, Optional[list]]:
    """A random (N, 3, H, W) batch and the data samples its task needs, at a fixed shape."""
    h, w = shape
    inputs = torch.randn(batch_size, 3, h, w, device=device)
    if scope != 'mmdet':
        return inputs, None
    from mmdet.structures import DetDataSample
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), batch_input_shape=(h, w),
                scale_factor=(1., 1.))
    return inputs, [DetDataSample(metainfo=meta) for _ in range(batch_size)]


def dataset_inputs(cfg: Config, model: nn.Module, num_images: int,
                   name: str = 'config') -> Iterator[Tuple[torch.Tensor, Optional[list]]]:
    """Yield (inputs, data_samples) for the first ``num_images`` images of the val dataset,
    through the config's test pipeline and the model's data preprocessor (paper: 1k COCO val).

    Raises:
        ValueError: the config has no ``val_dataloader``.
        FileNotFoundError: the dataset's data root does not exist.
    """
    from mmengine.runner import Runner
    loader_cfg = cfg.get('val_dataloader')
    if not loader_cfg:
        raise ValueError(f'{name}: --num-images needs a val_dataloader in the config')
    check_data_roots(cfg, ['val_dataloader'], name)
    loader_cfg = loader_cfg.copy()
    loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
    loader_cfg.dataset = dict(loader_cfg.dataset, indices=num_images)
    loader = Runner.build_dataloader(loader_cfg)
    for batch in loader:
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
        yield data['inputs'], data.get('data_samples')
