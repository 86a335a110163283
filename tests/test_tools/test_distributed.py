"""Two processes on the CPU (gloo) through tools/dist_train.sh train the demo config."""
import os
import os.path as osp

import pytest
import torch

from helpers import run_tool

CONFIG = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'
OPTIONS = ['randomness.seed=0', 'train_cfg.max_iters=1', 'train_dataloader.batch_size=1',
           'default_hooks.logger.interval=1', 'train_dataloader.dataset.pipeline.2.scale=(256,160)',
           'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


def first_loss(log):
    line = next(ln for ln in log.splitlines() if 'Iter(train) [1/1]' in ln)
    return float(line.split(' loss: ')[1].split()[0])


def stem_bn(work):
    state = torch.load(osp.join(work, 'iter_1.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    return state, state['backbone.stem.proj.1.running_mean'], state['backbone.stem.proj.1.running_var']


@pytest.mark.slow
def test_two_processes_gloo(tmp_path, data_root):
    ddp, single = str(tmp_path / 'ddp'), str(tmp_path / 'single')
    # SyncBN + norm_eval in the stem, as a detector fine-tune would use it.
    log = run_tool(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', ddp, '--cfg-options',
                    *OPTIONS, 'model.backbone.conv_norm_cfg.type=SyncBN',
                    'model.backbone.norm_eval=True'], python=False, data_root=data_root,
                   PORT='29731').output
    assert 'rank 0 of 2: 1 images per process, effective batch 2' in log
    assert 'rank 1 of 2: 1 images per process, effective batch 2' in log
    assert 'SyncBN trains only on GPUs' in log
    # Saved once, by rank 0, and nothing half-written beside it.
    assert sorted(n for n in os.listdir(ddp) if n.endswith('.pth')) == ['iter_1.pth']
    assert not [n for n in os.listdir(ddp) if n.endswith('.tmp')]

    log1 = run_tool(['tools/train.py', CONFIG, '--work-dir', single, '--cfg-options', *OPTIONS,
                     'model.backbone.norm_eval=True'], data_root=data_root).output
    # Rank 0 saw the single run's first image with the same weights and random draws ...
    assert abs(first_loss(log) - first_loss(log1)) < 1e-4, (first_loss(log), first_loss(log1))
    # ... but the update averaged in rank 1's gradient of another image.
    s_ddp, mean_ddp, var_ddp = stem_bn(ddp)
    s_one = stem_bn(single)[0]
    moved = max((s_ddp[k] - s_one[k]).abs().max().item() for k in s_ddp
                if k.startswith('backbone.stage') and s_ddp[k].is_floating_point())
    assert moved > 1e-7
    # norm_eval kept the stem BN statistics at their initial values under DDP (training moves them).
    assert torch.equal(mean_ddp, torch.zeros_like(mean_ddp))
    assert torch.equal(var_ddp, torch.ones_like(var_ddp))
