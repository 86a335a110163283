"""Checks of a run's settings (schedule, data loaders, work dir) before the runner starts: each
value the runner would take without a word or fail on deep inside gets an error naming it."""
import os.path as osp

from mmengine.config import Config

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_run_settings(cfg: Config) -> None:
    """Refuse a schedule that trains nothing or is not a number (``train_cfg.max_iters=0`` ends
    at once with no checkpoint; ``max_iters='abc'`` fails in the loop with a bare ``int()``
    error), loaders without a positive ``batch_size`` or with a negative ``num_workers``, and a
    ``work_dir`` that is a file; heads that do not take the neck's output
    (:func:`check_head_channels`).

    Raises:
        ValueError: names the setting, the value and what is expected.
    """
    train = cfg.get('train_cfg') or {}
    for key in ('max_iters', 'max_epochs', 'val_interval'):
        if key in train and not _positive_int(train[key]):
            raise ValueError(f'train_cfg.{key} must be a positive int, got {train[key]!r}')
    for name in LOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        if 'batch_size' in loader and not _positive_int(loader.batch_size):
            raise ValueError(f'{name}.batch_size must be a positive int, got {loader.batch_size!r}')
        workers = loader.get('num_workers', 0)
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f'{name}.num_workers must be an int >= 0 (0: load in the main process), '
                             f'got {workers!r}')
    check_head_channels(cfg.get('model'))
    work_dir = cfg.get('work_dir')
    if work_dir and osp.exists(work_dir) and not osp.isdir(work_dir):
        raise ValueError(f'work_dir {work_dir!r} is a file, not a folder (--work-dir)')


def check_output_args(args) -> None:
    """Refuse, before anything runs, an output file (``--out-metrics``) that could not be written
    at the end: a path that is a folder would fail only after the whole evaluation.

    Raises:
        ValueError: names the flag and the path.
    """
    for flag in ('out_metrics', ):
        path = getattr(args, flag, None)
        if path and osp.isdir(path):
            raise ValueError(f'--{flag.replace("_", "-")} {path!r} is a folder; give a file path '
                             '(e.g. metrics.json)')


def check_head_channels(model) -> None:
    """A head right after a neck with one output width (``out_channels``: mmpretrain's
    ``RMTClsNeck``, mmdet's FPN) must take that width: ``head``, ``rpn_head`` or ``bbox_head``
    ``in_channels`` (the backbone's side is :func:`restv2_mm.apis.check_model_channels`'s).

    Raises:
        ValueError: names both settings and their values.
    """
    neck = (model or {}).get('neck')
    width = neck.get('out_channels') if isinstance(neck, dict) else None
    if not isinstance(width, int):
        return
    for name in ('head', 'rpn_head', 'bbox_head'):
        head = model.get(name)
        channels = head.get('in_channels') if isinstance(head, dict) else None
        if isinstance(channels, int) and channels != width:
            raise ValueError(f'model.{name}.in_channels={channels} does not match '
                             f"model.neck.out_channels={width} (the {neck.get('type')} output it "
                             f'takes); set model.{name}.in_channels={width}')
