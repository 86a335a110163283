"""What a config's model is fed for FLOPs and latency: a fixed-size random batch (or the first
images of its val set) with the data samples its task needs, and its tensor forward."""
from typing import Iterator, Optional, Tuple

import torch
from mmengine.config import Config
from torch import nn

from .config_checks import check_data_roots

# Paper input sizes (H, W) per scope: Table 4 (1280x800), Table 5 (2048x512), Table 1 (224).
DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 2048), 'mmpretrain': (224, 224)}


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
