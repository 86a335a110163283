"""What a finished training run shows: loss at start and end, the last evaluation, and a line that
says why a metric is zero where it is expected (random initialisation, a short run) and which run's
picture shows the model learning."""
import glob
import json
import os
import os.path as osp
from typing import List, Optional

# The headline metrics of mmdet's CocoMetric, mmseg's IoUMetric and mmpretrain's Accuracy.
METRICS = ('bbox_mAP', 'segm_mAP', 'bbox_mAP_50', 'segm_mAP_50', 'aAcc', 'mIoU', 'mAcc',
           'accuracy/top1', 'accuracy/top5')


def summarize_run(work_dir: str) -> dict:
    """Loss (first and last logged value) and the last evaluation record of one mmengine work dir
    (its newest ``*/vis_data/scalars.json``: a record per logged step, whose loss is the mean over
    the logging interval), with how the run started (:func:`run_start`) and the pictures beside it.

    Returns:
        ``work_dir``, ``first_loss`` and ``last_loss`` as (iteration, loss) or None, ``metrics``
        (name -> value of the last evaluation), ``start`` (see :func:`run_start`) and
        ``pictures`` (the ``*.png`` files in the work dir, e.g. ``tools/misc/predict.py``'s).

    Raises:
        FileNotFoundError: no ``scalars.json`` below ``work_dir``.
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir!r}: did training run?')
    with open(files[-1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    losses = [r for r in records if 'loss' in r]
    metrics = [r for r in records if 'loss' not in r and any(k.endswith(METRICS) for k in r)]
    return dict(
        work_dir=work_dir,
        first_loss=(losses[0]['step'], losses[0]['loss']) if losses else None,
        last_loss=(losses[-1]['step'], losses[-1]['loss']) if losses else None,
        metrics={k: v for k, v in (metrics[-1] if metrics else {}).items() if k.endswith(METRICS)},
        start=run_start(work_dir),
        pictures=sorted(glob.glob(osp.join(work_dir, '*.png'))))


def run_start(work_dir: str) -> Optional[dict]:
    """How the run in ``work_dir`` started, from the config mmengine saved there: ``pretrained``
    (the checkpoint the backbone or the model loaded, ``init_cfg`` Pretrained or ``load_from``; None:
    random initialisation) and ``length`` (``'60 iterations'``, ``'5 epochs'``); None where the
    work dir holds no config."""
    from mmengine.config import Config
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if not configs:
        return None
    cfg = Config.fromfile(configs[0], import_custom_modules=False)
    model = cfg.get('model') or {}
    pretrained = cfg.get('load_from')
    for part in (model.get('backbone') or {}, model):
        init = part.get('init_cfg')
        for init in init if isinstance(init, list) else [init]:
            if isinstance(init, dict) and init.get('checkpoint'):
                pretrained = pretrained or init['checkpoint']
    loop = cfg.get('train_cfg') or {}
    length = (f"{loop['max_iters']} iterations" if 'max_iters' in loop else
              f"{loop['max_epochs']} epochs" if 'max_epochs' in loop else None)
    return dict(pretrained=pretrained, length=length)


def run_line(summary: dict) -> str:
    """One run as ``'WORK_DIR: loss 4.528 (iter 10) -> 2.582 (iter 60); coco/bbox_mAP 0.000, ...'``."""
    return (f"{summary['work_dir']}: loss {loss_text(summary['first_loss'])} -> "
            f"{loss_text(summary['last_loss'])}; "
            + ', '.join(f'{k} {v:.3f}' for k, v in summary['metrics'].items()))


def loss_text(value, iteration: str = 'iter ') -> str:
    """An (iteration, loss) pair as ``'2.698 (iter 60)'``."""
    return '-' if value is None else f'{value[1]:.3f} ({iteration}{value[0]})'


def zero_metrics_note(runs: List[dict]) -> Optional[str]:
    """One line for the runs whose every metric is 0 after a start from random weights: why (no
    pretrained checkpoint, a short run) and which run shows learning (its best metric and picture).
    None where no run needs it."""
    zero = [s for s in runs if s['metrics'] and not any(s['metrics'].values())
            and s.get('start') is not None and s['start']['pretrained'] is None]
    if not zero:
        return None
    names = ', '.join(osp.basename(osp.normpath(s['work_dir'])) for s in zero)
    lengths = sorted({s['start']['length'] for s in zero if s['start'].get('length')})
    note = (f"{names}: every metric is 0, as expected here: the backbone starts from random "
            f"initialisation (no pretrained checkpoint in this setup)"
            + (f" and trains only {' / '.join(lengths)}" if lengths else '')
            + ', too little to find anything in unseen images.')
    learned = [s for s in runs if any(v > 0 for v in s['metrics'].values())]
    if learned:
        best = max(learned, key=lambda s: max(s['metrics'].values()))
        name, value = max(best['metrics'].items(), key=lambda kv: kv[1])
        note += (f" {osp.basename(osp.normpath(best['work_dir']))} shows the model learning "
                 f"({name} {value:.3f})"
                 + (f": see {best['pictures'][0]}" if best.get('pictures') else '') + '.')
    return note


def render_runs(runs: List[dict]) -> str:
    """Markdown table of summaries: a row per work dir, a column per metric any of them has."""
    names = list(dict.fromkeys(k for s in runs for k in s['metrics']))
    lines = ['| run | first logged loss (iter) | last logged loss (iter) | '
             + ' | '.join(names) + ' |', '|---' * (3 + len(names)) + '|']
    for s in runs:
        values = [f"{s['metrics'][k]:.3f}" if k in s['metrics'] else '-' for k in names]
        run = os.path.basename(os.path.normpath(s['work_dir']))
        lines.append(f"| {run} | {loss_text(s['first_loss'], '')} | {loss_text(s['last_loss'], '')} | "
                     + ' | '.join(values) + ' |')
    return '\n'.join(lines) + '\n'
