"""The trained demo checkpoints that the tools' tests share: each task's demo trained once per
session through ``tools/train.py`` (one step, then validation on a few images), as a user would."""
import os.path as osp
import shutil
import textwrap
from typing import NamedTuple

import pytest

from helpers import REPO, run_tool


class DemoRun(NamedTuple):
    config: str  # the config trained (absolute path)
    work_dir: str  # the run's work dir (tests that go on training copy it first)
    checkpoint: str  # a copy of the run's checkpoint, outside the work dir
    log: str  # what tools/train.py printed
    options: tuple  # the --cfg-options of the run


# One training step, validation at its end on a few images.
DEMOS = {
    'mmdet': ('configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py',
              ('train_cfg.max_iters=1', 'train_cfg.val_interval=1', 'val_dataloader.dataset.indices=2',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1'), 'iter_1.pth'),
    'mmseg': ('configs/mmseg/demo/upernet_restv2_t_ade_mini.py',
              ('train_cfg.max_iters=1', 'train_cfg.val_interval=1', 'val_dataloader.dataset.indices=2',
               'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1'), 'iter_1.pth'),
    # The classification demo with an EMA hook, so that its checkpoint holds an EMA state too.
    'mmpretrain': (None, ('train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                          'train_dataloader.dataset.indices=8', 'val_dataloader.dataset.indices=8',
                          'default_hooks.logger.interval=1'), 'epoch_1.pth'),
}


@pytest.fixture(scope='session')
def demo_runs(tmp_path_factory, data_root):
    """lib ('mmdet', 'mmseg', 'mmpretrain') -> :class:`DemoRun`, trained without
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (our tools must do without it)."""
    root = tmp_path_factory.mktemp('demo_runs')
    ema = root / 'restv2_t_imagenet_mini_ema.py'
    ema.write_text(textwrap.dedent(f'''
        _base_ = '{REPO}/configs/mmpretrain/demo/restv2_t_imagenet_mini.py'
        custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
    '''))
    runs = {}
    for lib, (config, options, name) in DEMOS.items():
        config = osp.join(REPO, config) if config else str(ema)
        work = str(root / lib)
        log = run_tool(['tools/train.py', config, '--work-dir', work, '--cfg-options', *options],
                       data_root=data_root, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=None).output
        checkpoint = str(root / f'{lib}_{name}')
        shutil.copyfile(osp.join(work, name), checkpoint)
        runs[lib] = DemoRun(config, work, checkpoint, log, options)
    return runs
