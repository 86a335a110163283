"""The ImageNet checkpoint of a fine-tuning config: where a config's ``pretrained`` goes, and the
check that a required one is given."""
from typing import Iterator, List, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from ..models.common import require_checkpoint

# The initializers that load a checkpoint file: mmengine's (both names) and ours.
PRETRAINED_INITS = ('Pretrained', 'PretrainedInit', 'PretrainedWeights')


def pretrained_inits(model: dict, prefix: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(key, init_cfg)`` of every checkpoint-loading init_cfg (``type`` one of
    :data:`PRETRAINED_INITS`, scope prefix allowed) in a model config, nested parts included,
    e.g. ``('model.backbone.init_cfg', {...})``; an init_cfg list gives ``init_cfg.0``, ..."""
    items = model.items() if isinstance(model, dict) else \
        enumerate(model) if isinstance(model, (list, tuple)) else ()
    for key, value in items:
        name = f'{prefix}.{key}'
        if key == 'init_cfg':
            inits = [(name, value)] if isinstance(value, dict) else \
                [(f'{name}.{i}', v) for i, v in enumerate(value or ())]
            for init_name, init in inits:
                if isinstance(init, dict) and str(init.get('type', '')).split('.')[-1] in PRETRAINED_INITS:
                    yield init_name, init
        else:
            yield from pretrained_inits(value, name)


def apply_pretrained(cfg: Config, declared=None) -> List[str]:
    """Give a config's top-level ``pretrained`` to the model's checkpoint-loading init_cfgs.

    Our configs declare ``pretrained = None`` and write it into ``init_cfg=dict(type='Pretrained',
    checkpoint=pretrained, ...)``; mmengine substitutes the variable when the file is parsed, so
    neither ``--cfg-options pretrained=PATH`` nor ``pretrained = PATH`` in a config that inherits
    ours changes the init_cfg by itself. Here every such init_cfg of ``cfg.model`` whose
    ``checkpoint`` is unset, or is the value the file itself declared, takes ``cfg.pretrained``;
    one set to another file keeps it (an explicit ``model.*.init_cfg.checkpoint`` wins). Nothing
    changes while ``pretrained`` is None.

    Args:
        cfg: The config, with the command line's options merged.
        declared: ``cfg.pretrained`` as the file declared it, before ``--cfg-options``.

    Returns:
        The keys set, e.g. ``['model.backbone.init_cfg.checkpoint']`` (also logged).

    Raises:
        ValueError: ``pretrained`` is set but no init_cfg of the model takes it: none loads a
            checkpoint (e.g. a classifier trained from scratch: use ``load_from``), or each names
            another file. The message names the keys.
    """
    path = cfg.get('pretrained')
    if path is None:
        return []
    inits = list(pretrained_inits(cfg.get('model') or {}))
    keys = []
    for name, init in inits:
        if init.get('checkpoint') in (None, declared) and init.get('checkpoint') != path:
            init['checkpoint'] = path
            keys.append(f'{name}.checkpoint')
    if not any(init.get('checkpoint') == path for _, init in inits):
        others = ', '.join(f'{name}.checkpoint={init.get("checkpoint")!r}' for name, init in inits)
        raise ValueError(
            f'pretrained={path!r} is set, but no init_cfg of the model takes it ('
            + (f'each names its own file: {others}' if inits else
               f'none loads a checkpoint: no type in {PRETRAINED_INITS}')
            + f"): set model.backbone.init_cfg=dict(type='Pretrained', checkpoint={path!r}), or "
            f'load_from={path!r} for a whole-model checkpoint')
    if keys:
        print_log(f'pretrained={path!r} -> ' + ', '.join(keys), logger='current')
    return keys


def waive_required_pretrained(cfg: Config) -> None:
    """``required=False`` in each init_cfg without a checkpoint: weights come from ``load_from``
    (a whole model, or the run resumed), loaded over the initialisation, so a fine-tuning config
    needs no ImageNet checkpoint then."""
    waived = []
    for name, init in pretrained_inits(cfg.get('model') or {}):
        if init.get('required') and not init.get('checkpoint'):
            init['required'] = False
            waived.append(name)
    if waived:
        print_log(f'load_from={cfg.load_from!r}: no ImageNet checkpoint needed for '
                  + ', '.join(waived), logger='current')


def check_pretrained_given(cfg: Config) -> None:
    """Refuse to train a fine-tuning config without its ImageNet checkpoint, before anything is built.

    Every checkpoint-loading init_cfg of ``cfg.model`` with ``required=True`` needs a
    ``checkpoint`` (given with ``--cfg-options pretrained=PATH``). Our backbones check this again
    when they initialise; a stock backbone in one of our configs (mmdet's PVTv2 in the Semantic FPN
    baseline) would otherwise fail inside its own loader with no word of what to set.

    Raises:
        ValueError: names the init_cfg, how to give the checkpoint and how to opt out.
    """
    for name, init in pretrained_inits(cfg.get('model') or {}):
        require_checkpoint(init, name[:-len('.init_cfg')] if name.endswith('.init_cfg') else name)
