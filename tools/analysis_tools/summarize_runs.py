"""Loss at start and end and the final metrics (mAP, mIoU, accuracy) of mmengine work dirs.

    python tools/analysis_tools/summarize_runs.py WORK_DIR [WORK_DIR ...] [--out FILE.json]
    python tools/analysis_tools/summarize_runs.py --render FILE.json

Reads the newest ``*/vis_data/scalars.json`` of each work dir (one JSON record per logged step; a
logged loss is the mean over the logging interval) and prints a line per work dir; ``--out`` also
keeps the summaries in a JSON file, and ``--render`` prints the markdown table of such a file
without reading any work dir (the docs' demo tables are checked against it).

Raises:
    FileNotFoundError: a work dir without ``*/vis_data/scalars.json``.
"""
import argparse
import glob
import json
import os
import sys

# The headline metrics of mmdet's CocoMetric, mmseg's IoUMetric and mmpretrain's Accuracy.
METRICS = ('bbox_mAP', 'segm_mAP', 'bbox_mAP_50', 'segm_mAP_50', 'aAcc', 'mIoU', 'mAcc',
           'accuracy/top1', 'accuracy/top5')


def summarize(work_dir: str) -> dict:
    """Loss (first and last logged value) and the last evaluation record of one work dir.

    Returns:
        ``work_dir``, ``first_loss`` and ``last_loss`` as (iteration, loss) or None, ``metrics``
        (name -> value of the last evaluation).

    Raises:
        FileNotFoundError: no ``scalars.json`` below ``work_dir``.
    """
    files = sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir!r}: did training run?')
    records = [json.loads(line) for line in open(files[-1]) if line.strip()]
    losses = [r for r in records if 'loss' in r]
    metrics = [r for r in records if 'loss' not in r and any(k.endswith(METRICS) for k in r)]
    return dict(
        work_dir=work_dir,
        first_loss=(losses[0]['step'], losses[0]['loss']) if losses else None,
        last_loss=(losses[-1]['step'], losses[-1]['loss']) if losses else None,
        metrics={k: v for k, v in (metrics[-1] if metrics else {}).items() if k.endswith(METRICS)})


def loss(v, iteration='iter ') -> str:
    """A (iteration, loss) pair as '2.698 (iter 60)'."""
    return '-' if v is None else f'{v[1]:.3f} ({iteration}{v[0]})'


def line(s: dict) -> str:
    return (f"{s['work_dir']}: loss {loss(s['first_loss'])} -> {loss(s['last_loss'])}; "
            + ', '.join(f'{k} {v:.3f}' for k, v in s['metrics'].items()))


def render(runs: list) -> str:
    """Markdown table of summaries: a row per work dir, a column per metric any of them has."""
    names = list(dict.fromkeys(k for s in runs for k in s['metrics']))
    lines = ['| run | first logged loss (iter) | last logged loss (iter) | '
             + ' | '.join(names) + ' |', '|---' * (3 + len(names)) + '|']
    for s in runs:
        values = [f"{s['metrics'][k]:.3f}" if k in s['metrics'] else '-' for k in names]
        run = os.path.basename(os.path.normpath(s['work_dir']))
        lines.append(f"| {run} | {loss(s['first_loss'], '')} | {loss(s['last_loss'], '')} | "
                     + ' | '.join(values) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='*', metavar='WORK_DIR')
    parser.add_argument('--out', metavar='FILE.json', help='also write the summaries')
    parser.add_argument('--render', metavar='FILE.json',
                        help='read nothing else: print the table of a file written with --out')
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            print(render(json.load(f)['runs']), end='')
        return
    if not args.work_dirs:
        parser.error('give at least one WORK_DIR (or --render FILE.json)')
    runs = [summarize(w) for w in args.work_dirs]
    for s in runs:
        print(line(s))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(argv=sys.argv[1:] if argv is None else argv, runs=runs), f, indent=1)


if __name__ == '__main__':
    main()
