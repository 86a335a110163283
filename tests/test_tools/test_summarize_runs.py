"""tools/analysis_tools/summarize_runs.py: first and last logged loss and the last evaluation of a
work dir, kept as JSON and rendered as the docs' table, and the note on runs whose metrics are 0."""
import json

import pytest

from helpers import load_tool
from restv2_mm.cli import summarize_run

summarize_runs = load_tool('tools/analysis_tools/summarize_runs.py')


def work_dir(root, name, records, config=None, picture=False):
    """A work dir as mmengine leaves it: the log records, the config it saved, a picture."""
    folder = root / name / '20261203_000000' / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    if config is not None:
        (root / name / f'{name}.py').write_text(config)
    if picture:
        (root / name / 'prediction.png').write_bytes(b'png')
    return str(root / name)


def test_summary_json_and_table(tmp_path, capsys):
    run = work_dir(tmp_path, 'coco_mini', [
        dict(loss=4.44, step=10), dict(loss=3.1, step=20), dict(loss=2.698, step=60),
        dict(**{'coco/bbox_mAP': 0.0, 'coco/segm_mAP': 0.0, 'coco/bbox_mAP_50': 0.01}, step=60)])
    overfit = work_dir(tmp_path, 'overfit', [
        dict(loss=5.895, step=4), dict(loss=1.863, step=80),
        dict(**{'coco/bbox_mAP': 0.201, 'coco/segm_mAP': 0.125, 'data_time': 0.1}, step=80)])
    out = tmp_path / 'summary.json'
    summarize_runs.main([run, overfit, '--out', str(out)])
    assert 'loss 4.440 (iter 10) -> 2.698 (iter 60)' in capsys.readouterr().out
    summarize_runs.main(['--render', str(out)])
    assert capsys.readouterr().out.splitlines() == [
        '| run | first logged loss (iter) | last logged loss (iter) | coco/bbox_mAP | coco/segm_mAP '
        '| coco/bbox_mAP_50 |',
        '|---|---|---|---|---|---|',
        '| coco_mini | 4.440 (10) | 2.698 (60) | 0.000 | 0.000 | 0.010 |',
        '| overfit | 5.895 (4) | 1.863 (80) | 0.201 | 0.125 | - |']


def test_a_work_dir_without_logs_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='empty.*did training run'):
        summarize_run(str(tmp_path / 'empty'))


RANDOM_START = """model = dict(backbone=dict(type='ResTv2', init_cfg=None), init_cfg=None)
train_cfg = dict(type='IterBasedTrainLoop', max_iters={iters})
"""


def test_zero_metrics_are_explained_and_the_learning_run_is_named(tmp_path, capsys):
    zero = {'coco/bbox_mAP': 0.0, 'coco/segm_mAP': 0.0, 'step': 60}
    run = work_dir(tmp_path, 'coco_mini', [dict(loss=4.4, step=10), zero],
                   RANDOM_START.format(iters=60), picture=True)
    overfit = work_dir(tmp_path, 'overfit', [dict(loss=5.9, step=4), {'coco/bbox_mAP': 0.226, 'step': 80}],
                       RANDOM_START.format(iters=80), picture=True)
    summarize_runs.main([run, overfit])
    note = capsys.readouterr().out.splitlines()[-1]
    assert note == (
        'note: coco_mini: every metric is 0, as expected here: the backbone starts from random '
        'initialisation (no pretrained checkpoint in this setup) and trains only 60 iterations, too '
        'little to find anything in unseen images. overfit shows the model learning (coco/bbox_mAP '
        f'0.226): see {overfit}/prediction.png.')
    # A run that started from pretrained weights gets no such note: its 0 is a finding.
    pretrained = work_dir(tmp_path, 'pretrained', [dict(loss=4.4, step=10), zero],
                          "load_from = 'model.pth'\ntrain_cfg = dict(max_iters=60)\n")
    summarize_runs.main([pretrained, overfit])
    assert 'note' not in capsys.readouterr().out
