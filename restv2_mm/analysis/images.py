"""A folder of images through a config's test pipeline and its model's data preprocessor, in
batches: the inputs the model saw at evaluation, for analyses on real images."""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from torch import nn

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def list_images(folder: str, num_images: Optional[int] = None) -> List[str]:
    """Image files under ``folder`` (any depth), sorted by path, the first ``num_images``.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
        ValueError: no image file in it (extensions :data:`IMAGE_EXTENSIONS`, any case), or
            ``num_images`` < 1.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'--images: no folder {folder!r}')
    if num_images is not None and num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    paths = sorted(osp.join(root, f) for root, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise ValueError(f'--images: no image files ({", ".join(IMAGE_EXTENSIONS)}) under {folder!r}')
    return paths[:num_images]


def eval_pipeline(cfg: Config) -> list:
    """The config's image pipeline at evaluation (``test_dataloader``, else ``val_dataloader``,
    else ``test_pipeline``), without its annotation loading (there are no annotations).

    Raises:
        ValueError: the config has none of them.
    """
    for key in ('test_dataloader', 'val_dataloader'):
        pipeline = (cfg.get(key) or {}).get('dataset', {}).get('pipeline')
        if pipeline:
            break
    else:
        pipeline = cfg.get('test_pipeline')
    if not pipeline:
        raise ValueError('the config has no test_dataloader / val_dataloader pipeline and no '
                         'test_pipeline to load images with')
    return [t for t in pipeline if 'LoadAnnotations' not in str(t.get('type'))]


def image_batches(cfg: Config, model: nn.Module, paths: Sequence[str],
                  batch_size: int = 8) -> Iterator[torch.Tensor]:
    """Yield the images at ``paths`` as the model's inputs, ``batch_size`` at a time.

    Each image goes through :func:`eval_pipeline` (a classifier's: resize, centre crop) and the
    batch through ``model.data_preprocessor`` (normalisation, RGB order, padding). Build the
    model first (it sets the config's default scope, which the pipeline's transforms need).

    Shape:
        yields (n, 3, H, W) float tensors, n <= ``batch_size``.

    Raises:
        ValueError: ``batch_size`` < 1, or see :func:`eval_pipeline`.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    pipeline = Compose(eval_pipeline(cfg))
    for start in range(0, len(paths), batch_size):
        packed = [pipeline(dict(img_path=p)) for p in paths[start:start + batch_size]]
        data = dict(inputs=[p['inputs'] for p in packed],
                    data_samples=[p.get('data_samples') for p in packed])
        with torch.no_grad():
            yield model.data_preprocessor(data, False)['inputs']
