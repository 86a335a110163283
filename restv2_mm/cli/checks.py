"""Checks of what a tool is given, before the runner starts."""
from mmengine.config import Config

from ..apis import our_backbone
from ..models import unwrap_state_dict
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

