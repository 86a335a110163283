"""The demo config trains (the shared one-step run of tests/test_tools/conftest.py) and its
checkpoint evaluates on the real COCO images through tools/test.py; resuming is tested in
test_resume.py."""
import json
import os.path as osp

import pytest

from helpers import run_tool


@pytest.mark.slow
def test_train_and_test_on_real_coco(demo_runs, data_root, tmp_path):
    run = demo_runs['mmdet']
    assert 'random initialisation' in run.log and 'Iter(train) [1/1]' in run.log
    assert osp.isfile(osp.join(run.work_dir, 'iter_1.pth'))
    metrics_file = tmp_path / 'metrics.json'
    # Our tools must cope without TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD.
    run_tool(['tools/test.py', run.config, run.checkpoint, '--work-dir', tmp_path,
              '--out-metrics', metrics_file, '--cfg-options', 'test_dataloader.dataset.indices=2',
              'model.test_cfg.rcnn.score_thr=0.0',  # a 1-step model scores everything low
              'test_dataloader.num_workers=0'], data_root=data_root,
             TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=None)
    metrics = json.load(open(metrics_file))
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics
