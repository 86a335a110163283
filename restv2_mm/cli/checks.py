"""Checks of what a tool is given, before the runner starts."""
import os

from mmengine.config import Config

from ..models import our_backbone
from ..models.utils import unwrap_state_dict
from ..utils import read_checkpoint


def check_whole_model_checkpoint(path: str, cfg: Config) -> None:
    """Refuse an official checkpoint (ResTv2, ResTv1, RMT) where a whole-model (converted) one is expected.

    mmengine loads ``load_from`` non-strictly: official keys (the backbone class's
    ``official_prefixes``, e.g. ``stem.*``, ``stage1.*``) would match nothing in a model whose
    keys start ``backbone.``, and the run would go on with random weights.

    Raises:
        ValueError: says which converter to run, or how to use the file as backbone weights.
    """
    model = cfg.get('model') or {}
    cls = our_backbone(model.get('backbone'), cfg.get('default_scope'))
    if cls is None:
        return
    keys = list(unwrap_state_dict(read_checkpoint(path)))
    if any(k.startswith('backbone.') for k in keys):
        return
    prefixes = cls.official_prefixes
    if prefixes and any(k.startswith(prefixes) for k in keys):
        raise ValueError(
            f'{path} is an official {cls.__name__} checkpoint (keys '
            f'{", ".join(p + "*" for p in prefixes)}, ...), but a whole-model '
            f'checkpoint is expected here. For a classifier convert it with `python '
            f'tools/model_converters/convert_official_ckpt.py {path} OUT.pth`; to start a detector or '
            f"segmentor from it, set model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{path}')")


def allow_runner_checkpoints() -> None:
    """Let mmengine 0.10.7 load its own runner checkpoints under torch >= 2.6.

    torch >= 2.6 defaults ``torch.load`` to ``weights_only=True``; mmengine does not pass the
    argument, and runner checkpoints pickle a message hub, numpy scalars and the config, so
    ``--resume`` fails with an UnpicklingError. torch honours ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``
    only where the caller passed nothing, so explicit callers keep their choice. Only load
    checkpoints you trust (as with any pickle).
    """
    os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
