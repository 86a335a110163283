"""The trained demo checkpoints that the tools' tests share: each task's demo trained once per
session through ``tools/train.py`` (one step, then validation on a few images), as a user would."""
import json
import os
import os.path as osp
import shutil
import textwrap
from typing import NamedTuple

import pytest
from filelock import FileLock

from helpers import REPO, run_tool


class DemoRun(NamedTuple):
    config: str  # the config trained (absolute path)
    work_dir: str  # the run's work dir (tests that go on training copy it first)
    checkpoint: str  # the run's checkpoint, hard-linked outside the work dir
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
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (our tools must do without it).

    Trained once per test run: with pytest-xdist the first worker that asks trains them in the
    run's shared temporary folder, under a lock, and the others read its index."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        shared = shared.parent  # the folder above each worker's own
    index = shared / 'demo_runs.json'
    with FileLock(f'{index}.lock'):
        if index.is_file():
            return {lib: DemoRun(*run[:4], tuple(run[4]))
                    for lib, run in json.loads(index.read_text()).items()}
        runs = _train_demos(shared / 'demo_runs', data_root)
        index.write_text(json.dumps(runs))
    return runs


def _train_demos(root, data_root):
    root.mkdir()
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
        _link_or_copy(osp.join(work, name), checkpoint)
        runs[lib] = DemoRun(config, work, checkpoint, log, options)
    return runs


def _link_or_copy(src, dst):
    """A second name for ``src`` that outlives changes to the work dir without a second copy on
    disk: checkpoints are replaced by rename (a new file), never rewritten in place."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
