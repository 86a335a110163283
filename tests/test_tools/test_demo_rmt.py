"""The RMT-T Mask R-CNN demo config trains on the real COCO images and evaluates (a few
iterations, as `make demo-rmt` does with more)."""
import json
import os.path as osp

import pytest

from helpers import run_tool

CONFIG = 'configs/mmdet/demo/mask_rcnn_rmt_t_coco_mini.py'


@pytest.mark.slow
def test_rmt_demo_trains_and_evaluates(tmp_path, data_root):
    work = str(tmp_path / 'work')
    no_val = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
    log = run_tool(['tools/train.py', CONFIG, '--work-dir', work, '--cfg-options',
               'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=1',
               'default_hooks.logger.interval=1'] + no_val, data_root=data_root).output
    assert 'RMT: no pretrained checkpoint given' in log
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    metrics_file = osp.join(work, 'metrics.json')
    run_tool(['tools/test.py', CONFIG, osp.join(work, 'iter_2.pth'), '--work-dir', work,
         '--out-metrics', metrics_file, '--cfg-options', 'test_dataloader.dataset.indices=2',
         'model.test_cfg.rcnn.score_thr=0.0'], data_root=data_root)
    metrics = json.load(open(metrics_file))
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics
