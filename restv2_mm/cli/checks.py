"""Checks of what a tool is given, before the runner starts."""
from collections import OrderedDict
from typing import List

from mmengine.config import Config

from ..apis import our_backbone
from ..models import unwrap_state_dict
from ..models.common import check_finite
from ..utils import read_checkpoint


def check_whole_model_checkpoint(path: str, cfg: Config) -> None:
    """Refuse a checkpoint that would load into the whole model (``load_from``, ``tools/test.py``)
    without a word but leave it useless: an official checkpoint (ResTv2, ResTv1, RMT) where a
    whole-model (converted) one is expected, or one whose weights hold NaN/Inf.

    mmengine loads ``load_from`` non-strictly: official keys (the backbone class's
    ``official_prefixes``, e.g. ``stem.*``, ``stage1.*``) would match nothing in a model whose
    keys start ``backbone.``, and the run would go on with random weights. NaN/Inf weights (a run
    that diverged) make every output NaN.

    Raises:
        ValueError: says which converter to run, or how to use the file as backbone weights; or
            names the non-finite tensors by part (``backbone.stage2``, ``neck``, ...) and how to
            load them anyway (``$RESTV2_ALLOW_NON_FINITE=1``).
        TypeError: the file holds no state dict (names the file).
    """
    checkpoint = read_checkpoint(path)
    try:
        state = unwrap_state_dict(checkpoint)
    except TypeError as e:
        raise TypeError(f'{path}: {e}') from None
    _check_not_official(path, list(state), cfg)
    # What mmengine's load_checkpoint loads: 'state_dict' (the EMA weights where EMAHook saved).
    loaded = checkpoint.get('state_dict') if isinstance(checkpoint, dict) else None
    check_finite(loaded if isinstance(loaded, dict) else state, path, 'the model', by_part)


def _check_not_official(path: str, keys: List[str], cfg: Config) -> None:
    model = cfg.get('model') or {}
    cls = our_backbone(model.get('backbone'), cfg.get('default_scope'))
    if cls is None or any(k.startswith('backbone.') for k in keys):
        return
    prefixes = cls.official_prefixes
    if prefixes and any(k.startswith(prefixes) for k in keys):
        raise ValueError(
            f'{path} is an official {cls.__name__} checkpoint (keys '
            f'{", ".join(p + "*" for p in prefixes)}, ...), but a whole-model '
            f'checkpoint is expected here. For a classifier convert it with `python '
            f'tools/model_converters/convert_official_ckpt.py {path} OUT.pth`; to start a detector or '
            f"segmentor from it, set model.backbone.init_cfg=dict(type='Pretrained', checkpoint='{path}')")


def by_part(keys: List[str], shown: int = 4) -> List[str]:
    """``keys`` grouped by model part: the backbone's by its first module (``backbone.stage2``),
    the rest by theirs (``neck``, ``roi_head``), the first ``shown`` of each named."""
    groups = OrderedDict()
    for key in keys:
        parts = key.split('.')
        groups.setdefault('.'.join(parts[:2] if parts[0] == 'backbone' else parts[:1]), []).append(key)
    return [f'{part}: {len(names)}: {", ".join(names[:shown])}'
            + (f' (+{len(names) - shown} more)' if len(names) > shown else '')
            for part, names in groups.items()]
