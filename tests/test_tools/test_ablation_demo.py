"""Two ablation rows train a few iterations on the real ImageNet images and evaluate (CPU)."""
import os.path as osp

import pytest

from helpers import REPO, load_config, run_tool

DEMO = osp.join(REPO, 'configs/mmpretrain/demo/restv2_t_imagenet_mini.py')


@pytest.mark.slow
@pytest.mark.parametrize('row', ['restv2_lite_mhim_100e_in1k.py',  # appendix B, explicit attention
                                 'restv2_t_up-nearest_100e_in1k.py'])  # Table 2b
def test_ablation_row_trains_and_evaluates_on_imagenet_mini(row, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv('RESTV2_DATA', data_root)
    cfg = load_config(DEMO)  # the demo's data, batch and schedule; the row's model
    cfg.model = load_config(osp.join('configs/mmpretrain/ablations', row)).model
    path = tmp_path / row
    cfg.dump(str(path))
    log = run_tool(['tools/train.py', path, '--work-dir', tmp_path / 'work', '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=16',
                    'val_dataloader.dataset.indices=8', 'default_hooks.logger.interval=1']).output
    assert 'Epoch(train) [1][2/2]' in log and 'accuracy/top1:' in log and 'accuracy/top5:' in log
