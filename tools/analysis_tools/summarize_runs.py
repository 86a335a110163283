"""Print loss at start and end and the final metrics (mAP, mIoU, accuracy) of mmengine work dirs.

    python tools/analysis_tools/summarize_runs.py WORK_DIR [WORK_DIR ...]

Reads the newest ``*/vis_data/scalars.json`` of each work dir (one JSON record per logged step).
"""
import glob
import json
import os
import sys

# The headline metrics of mmdet's CocoMetric, mmseg's IoUMetric and mmpretrain's Accuracy.
METRICS = ('bbox_mAP', 'segm_mAP', 'bbox_mAP_50', 'segm_mAP_50', 'aAcc', 'mIoU', 'mAcc',
           'accuracy/top1', 'accuracy/top5')


def summarize(work_dir: str) -> dict:
    """Loss (first and last logged value) and the last evaluation record of one work dir.

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


def main(argv):
    for work_dir in argv:
        s = summarize(work_dir)
        print(f"{s['work_dir']}: loss {s['first_loss'][1]:.3f} (iter {s['first_loss'][0]}) -> "
              f"{s['last_loss'][1]:.3f} (iter {s['last_loss'][0]}); "
              + ', '.join(f'{k} {v:.3f}' for k, v in s['metrics'].items()))


if __name__ == '__main__':
    main(sys.argv[1:])
