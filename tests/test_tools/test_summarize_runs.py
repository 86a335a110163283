"""tools/analysis_tools/summarize_runs.py: first and last logged loss and the last evaluation of a
work dir, kept as JSON and rendered as the docs' table."""
import json

import pytest

from helpers import load_tool

summarize_runs = load_tool('tools/analysis_tools/summarize_runs.py')


def work_dir(root, name, records):
    folder = root / name / '20261203_000000' / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
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
        summarize_runs.summarize(str(tmp_path / 'empty'))
