"""The segmentation and classification demos train on the real images and report their metrics;
TTA builds."""

import pytest
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from helpers import load_config, run_tool


@pytest.mark.slow
def test_demos_train_and_report_their_metrics(demo_runs):
    seg, cls = demo_runs['mmseg'].log, demo_runs['mmpretrain'].log
    assert 'Iter(train) [1/1]' in seg and 'mIoU:' in seg
    assert 'Epoch(train) [1][' in cls and 'accuracy/top1:' in cls and 'accuracy/top5:' in cls


@pytest.mark.slow
def test_camvid_demo_trains_and_reports_miou(data_root, tmp_path):
    log = run_tool(['tools/train.py', 'configs/mmseg/demo/upernet_restv2_t_camvid_mini.py',
                    '--work-dir', tmp_path, '--cfg-options', 'train_cfg.max_iters=2',
                    'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
                    'val_dataloader.dataset.indices=2'], data_root=data_root).output
    assert 'Iter(train) [2/2]' in log and 'mIoU:' in log


def test_segmentation_tta_builds():
    from mmseg.registry import MODELS
    cfg = load_config('configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py')
    init_default_scope('mmseg')
    tta = MODELS.build(ConfigDict(**cfg.tta_model, module=cfg.model))
    assert type(tta).__name__ == 'SegTTAModel'
    aug = cfg.tta_pipeline[1]  # multi-scale x flip, as the paper's multi-scale mIoU
    assert aug.type == 'TestTimeAug' and len(aug.transforms[0]) == 6


def test_upernet_recipe_and_params():
    """Paper 5.2 / appendix C.2 and Table 5 (T 62.1M)."""
    from mmseg.registry import MODELS

    from restv2_mm.analysis import count_params
    init_default_scope('mmseg')
    for arch, dpr in zip('tsb', (0.1, 0.2, 0.3)):
        cfg = load_config(f'configs/mmseg/upernet_restv2_{arch}_512x512_160k_ade20k.py')
        assert cfg.model.backbone.drop_path_rate == dpr
        opt = cfg.optim_wrapper
        assert (opt.optimizer.lr, opt.optimizer.weight_decay) == (1.5e-4, 0.05)
        assert opt.constructor == 'ResTv2LearningRateDecayOptimizerConstructor'
        assert (opt.paramwise_cfg.decay_rate, opt.paramwise_cfg.decay_type) == (0.9, 'stage_wise')
        assert cfg.param_scheduler[0].end == 1500 and cfg.train_cfg.max_iters == 160000
        assert cfg.train_dataloader.batch_size * 8 == 16 and cfg.crop_size == (512, 512)
        if arch == 't':
            assert round(count_params(MODELS.build(cfg.model)) / 1e6, 1) == 62.1
