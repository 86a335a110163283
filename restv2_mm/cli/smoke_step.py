"""One training step and one inference of a config's model on a small synthetic batch, on the CPU:
what tools/train.py would do first, without data on disk.

The batch is two random images of the chosen size with what any head of the task may read
(mmdet: boxes, labels, instance masks and a semantic map, as mmdet's ``demo_mm_inputs`` makes
them; mmseg: a label map), so that a framework runs whatever its dataset. The model is built as
the config says, except what only makes sense at full size on GPUs: batch augmentations that pad
or resize to the training size (LSJ's 1024 pad, YOLOX's multi-scale resize) are off, mmseg's
preprocessor pads to the small size, SyncBN runs as BN and AMP as fp32 (the CPU has neither).
"""
import copy
import importlib
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from ..apis import config_scope
from .config import resolve_amp


def _num_classes(model: dict) -> int:
    """The first ``num_things_classes`` or ``num_classes`` in the model config (2 where none)."""
    found: List[int] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ('num_things_classes', 'num_classes'):
                if isinstance(node.get(key), int) and node[key] > 0:
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)
    walk(model)
    return found[0] if found else 2


def _find(node, match: Callable[[dict], bool]) -> List[dict]:
    """Every dict under ``node`` (nested dicts and lists) for which ``match`` holds."""
    if isinstance(node, dict):
        return ([node] if match(node) else []) + [d for v in node.values() for d in _find(v, match)]
    if isinstance(node, (list, tuple)):
        return [d for v in node for d in _find(v, match)]
    return []


def annotations(cfg: Config) -> Tuple[bool, bool, bool]:
    """(masks, semantic map, proposals): what the config's training pipeline loads besides boxes
    and labels (``LoadAnnotations`` / ``LoadPanopticAnnotations`` and their ``with_mask``,
    ``with_seg``; ``LoadProposals``: Fast R-CNN trains on precomputed proposals)."""
    steps = _find([cfg.get('train_dataloader'), cfg.get('train_pipeline')],
                  lambda d: str(d.get('type', '')).startswith(('Load', 'mmdet.Load')))
    loaders = [d for d in steps if str(d['type']).endswith(('LoadAnnotations',
                                                           'LoadPanopticAnnotations'))]
    panoptic = [str(d['type']).endswith('PanopticAnnotations') for d in loaders]
    return (any(d.get('with_mask', p) for d, p in zip(loaders, panoptic)),
            any(d.get('with_seg', p) for d, p in zip(loaders, panoptic)),
            any(str(d['type']).endswith('LoadProposals') for d in steps))


def synthetic_batch(scope: str, model: dict, size: int, masks: bool = False,
                    semantic: bool = False, proposals: bool = False, batch: int = 2,
                    seed: int = 0) -> dict:
    """A batch as a dataloader gives it (uint8 (3, H, W) images and their data samples); mmdet:
    boxes and labels, and instance ``masks``, a ``semantic`` map and 100 ``proposals`` where
    asked.

    Raises:
        ValueError: a scope other than mmdet or mmseg.
    """
    classes = _num_classes(model)
    np.random.seed(seed)  # demo_mm_inputs draws the semantic maps from numpy's global generator
    if scope == 'mmdet':
        from mmdet.testing import demo_mm_inputs, demo_mm_proposals
        data = demo_mm_inputs(batch, [(3, size, size)] * batch, num_items=[3] * batch,
                              num_classes=max(classes, 2), with_mask=masks, with_semantic=semantic)
        boxes = demo_mm_proposals([(3, size, size)] * batch, 100) if proposals else [None] * batch
        for sample, box in zip(data['data_samples'], boxes):
            sample.gt_instances.labels %= classes
            if box is not None:
                sample.proposals = box
        return data
    if scope == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        rng = np.random.RandomState(seed)
        inputs, samples = [], []
        for _ in range(batch):
            inputs.append(torch.from_numpy(rng.randint(0, 256, (3, size, size), dtype=np.uint8)))
            labels = rng.randint(0, classes, (1, size, size))
            labels[:, :size // 8] = 255  # some ignored pixels, as in real label maps
            sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                                 pad_shape=(size, size)))
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(labels).long())
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)
    raise ValueError(f'synthetic batches exist for mmdet and mmseg configs, not {scope!r}')


def small_model_config(cfg: Config, size: int) -> ConfigDict:
    """``cfg.model`` as :func:`smoke_step` builds it at ``size`` (see the module docstring), with
    no checkpoint to load: every ``init_cfg`` of type Pretrained, ``pretrained`` and
    ``teacher_ckpt`` (knowledge distillation) are unset, so nothing is downloaded."""
    model = copy.deepcopy(cfg.model)
    for module in _find(model, lambda d: True):
        init = module.get('init_cfg')
        inits = init if isinstance(init, (list, tuple)) else [init]
        if any(isinstance(i, dict) and i.get('type') == 'Pretrained' for i in inits):
            module['init_cfg'] = None
        for key in ('pretrained', 'teacher_ckpt'):
            if isinstance(module.get(key), str):
                module[key] = None
    preprocessor = model.get('data_preprocessor')
    if isinstance(preprocessor, dict):
        if preprocessor.get('batch_augments'):
            preprocessor['batch_augments'] = None
        if preprocessor.get('size'):
            preprocessor['size'] = (size, size)
    return model


def smoke_step(cfg: Config, size: int = 128, find_unused: Optional[bool] = None) -> Dict:
    """Build ``cfg.model``, initialise it, run one optimizer step of the config's optimizer on a
    synthetic batch of two (3, size, size) images, then one inference on it.

    Args:
        cfg: An mmdet or mmseg config.
        size: Image side in pixels.
        find_unused: Whether DDP would be told of unused parameters; default the config's
            ``find_unused_parameters``.

    Returns:
        dict: ``losses`` (name -> float), ``predictions`` (how many data samples came back),
        ``no_grad`` (backbone parameters that got no gradient: DDP fails on them unless
        ``find_unused_parameters``).

    Raises:
        RuntimeError: a loss is not finite, a parameter without gradient where DDP would
            fail, or the inference returns another number of samples than the batch.
        Exception: whatever the model raises while building, training or testing.
    """
    scope = config_scope(cfg)
    model_cfg = small_model_config(cfg, size)
    data = synthetic_batch(scope, model_cfg, size, *annotations(cfg))
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = revert_sync_batchnorm(registry.build(model_cfg))
        model.init_weights()
        wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
        if wrapper_cfg.get('type') == 'AmpOptimWrapper':
            resolve_amp(wrapper_cfg)
        wrapper = build_optim_wrapper(model, wrapper_cfg)
        got_grad = set()
        backbone = dict(getattr(model, 'backbone', torch.nn.Module()).named_parameters())
        for name, p in backbone.items():
            if p.requires_grad:
                p.register_hook(lambda g, name=name: got_grad.add(name))
        model.train()
        losses = {k: float(v) for k, v in model.train_step(data, wrapper).items()}
        if not all(np.isfinite(list(losses.values()))):
            raise RuntimeError(f'a loss is not finite after one step: {losses}')
        no_grad = sorted(n for n, p in backbone.items() if p.requires_grad and n not in got_grad)
        find_unused = cfg.get('find_unused_parameters', False) if find_unused is None else find_unused
        if no_grad and not find_unused:
            raise RuntimeError(f'{len(no_grad)} backbone parameters got no gradient ({no_grad[:3]}'
                               '...) and find_unused_parameters is not set: DDP would fail')
        model.eval()
        with torch.no_grad():
            predictions = model.test_step(data)
    if len(predictions) != len(data['inputs']):
        raise RuntimeError(f'inference returned {len(predictions)} samples for '
                           f'{len(data["inputs"])} images')
    return dict(losses=losses, predictions=len(predictions), no_grad=len(no_grad))
