"""The demo config trains and evaluates on the real COCO images (a few iterations); resuming is
tested in test_resume.py."""
import json
import os.path as osp

from helpers import run_tool

CONFIG = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'


def run(args, data_root):
    # Our tools must cope without TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD.
    return run_tool(args, data_root=data_root, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=None).output


def test_train_and_test_on_real_coco(tmp_path, data_root):
    work = str(tmp_path / 'work')
    no_val = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
    common = ['--work-dir', work, '--cfg-options', 'default_hooks.checkpoint.interval=1',
              'default_hooks.logger.interval=1', 'train_dataloader.num_workers=0'] + no_val
    log = run(['tools/train.py', CONFIG] + common + ['train_cfg.max_iters=2'], data_root)
    assert 'random initialisation' in log
    assert osp.isfile(osp.join(work, 'iter_2.pth'))

    metrics_file = osp.join(work, 'metrics.json')
    run(['tools/test.py', CONFIG, osp.join(work, 'iter_2.pth'), '--work-dir', work,
         '--out-metrics', metrics_file, '--cfg-options', 'test_dataloader.dataset.indices=2',
         'model.test_cfg.rcnn.score_thr=0.0',  # a 2-iteration model scores everything low
         'test_dataloader.num_workers=0'], data_root)
    metrics = json.load(open(metrics_file))
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics
