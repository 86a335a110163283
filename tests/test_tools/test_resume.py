"""Killed training resumes without loss: same iteration, losses, weights and optimizer state as
the run that was never interrupted, with data workers and with two processes.

- The demo Mask R-CNN config on the real COCO images at a small scale, iteration-based, 2 data
  workers: an uninterrupted run of 4 iterations, and a run killed with SIGKILL after its
  iteration-2 checkpoint, then resumed.
- A narrow ResTv2 classifier (the ImageNet demo's recipe: RandomResizedCrop, RandAugment,
  RandomErasing, Mixup/CutMix, stochastic depth) at 64x64, epoch-based with persistent workers and
  validation after every epoch, no seed in the config: killed by itself (SIGKILL) in the middle of
  epoch 2, resumed; the same with 0 workers draws the same samples; and two processes (gloo).
"""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from helpers import REPO, run_tool
from restv2_mm.cli import make_resume_exact

CONFIG = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'
OPTIONS = ['randomness.seed=0', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2',
           'default_hooks.checkpoint.max_keep_ckpts=3', 'default_hooks.logger.interval=1',
           'train_dataloader.dataset.pipeline.2.scale=(256,160)', 'train_dataloader.num_workers=2',
           'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']

# The ImageNet demo at 64x64 with a ResTv2 of 16..128 channels, one block per stage: 12 images,
# 3 iterations an epoch, 3 epochs, a checkpoint and a validation after each.
LEAN = '''
_base_ = '{repo}/configs/mmpretrain/demo/restv2_t_imagenet_mini.py'
model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                     num_heads=[1, 1, 2, 4], sr_ratios=[8, 4, 2, 1]),
                           drop_path_rate=0.2),
             head=dict(in_channels=128))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5, hparams=dict(pad_val=[104, 116, 124])),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=[103.53, 116.28, 123.675], fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
val_pipeline = [dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=64, edge='short'),
                dict(type='CenterCrop', crop_size=64), dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=2, persistent_workers=True,
                        dataset=dict(indices=12, pipeline=train_pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(indices=4, pipeline=val_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=3, val_interval=1)
param_scheduler = [dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0, end=3)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3))
log_processor = dict(window_size=1)  # each iteration's own loss, not a running mean
randomness = dict(seed=None)  # as most configs: mmengine draws a seed, the checkpoint keeps it
'''
# The same, killing itself (every process) when iteration {kill_at} (0-based) begins: its batch is
# loaded, the workers are busy with the next ones.
VICTIM = '''
_base_ = './lean.py'
custom_imports = dict(imports=['restv2_mm', 'kill_at'], allow_failed_imports=False)
custom_hooks = [dict(type='KillAt', iteration={kill_at})]
'''
KILL_HOOK = '''
import multiprocessing
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class KillAt(Hook):
    priority = 'HIGHEST'

    def __init__(self, iteration):
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.iteration:
            for worker in multiprocessing.active_children():  # the dataloader's
                os.kill(worker.pid, signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
'''


def command(work, *extra):
    return [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work, *extra,
            '--cfg-options', *OPTIONS]


def environment(data_root):
    env = dict(os.environ, RESTV2_DATA=data_root, PYTHONUNBUFFERED='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)  # our tools must cope without it
    return env


def losses(work):
    """iter -> logged loss, over every run in ``work`` (later runs override)."""
    out = {}
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            rec = json.loads(line)
            if 'loss' in rec:
                out[rec['iter']] = rec['loss']
    return out


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def assert_same_training_state(a, b, rtol=1e-5):
    """Weights, Adam moments, step counts and schedulers of two checkpoints agree."""
    ca, cb = load(a), load(b)
    assert ca['meta']['iter'] == cb['meta']['iter']
    for key in ca['state_dict']:
        torch.testing.assert_close(ca['state_dict'][key], cb['state_dict'][key], rtol=rtol, atol=1e-6)
    sa, sb = ca['optimizer']['state'], cb['optimizer']['state']
    assert sa.keys() == sb.keys() and len(sa) > 0
    for k in sa:
        assert sa[k]['step'] == sb[k]['step']
        torch.testing.assert_close(sa[k]['exp_avg'], sb[k]['exp_avg'], rtol=rtol, atol=1e-7)
        torch.testing.assert_close(sa[k]['exp_avg_sq'], sb[k]['exp_avg_sq'], rtol=rtol, atol=1e-9)
    assert ca['param_schedulers'] == cb['param_schedulers']


def test_training_is_set_up_to_resume_exactly(tmp_path):
    cfg = Config(dict(train_dataloader=dict(sampler=dict(type='DefaultSampler', shuffle=True)),
                      custom_hooks=[dict(type='EMAHook')]))
    for _ in range(2):  # idempotent
        make_resume_exact(cfg)
        assert cfg.train_dataloader.sampler == dict(
            type='SeededSampler', sampler=dict(type='DefaultSampler', shuffle=True))
        assert cfg.custom_hooks == [dict(type='EMAHook'), dict(type='RNGStateHook')]
    # --resume: the checkpoint's seed, which mmengine would take only after building the data.
    checkpoint = str(tmp_path / 'iter_2.pth')
    torch.save({'meta': {'seed': 1234, 'epoch': 0, 'iter': 2}, 'state_dict': {'w': torch.zeros(3)},
                'optimizer': {}}, checkpoint)
    cfg.resume, cfg.load_from = True, checkpoint
    make_resume_exact(cfg)
    assert cfg.randomness.seed == 1234
    cfg.randomness.seed = 5
    with pytest.warns(UserWarning, match='randomness.seed=5 differs from the seed 1234'):
        make_resume_exact(cfg)
    assert cfg.randomness.seed == 1234


@pytest.mark.slow
def test_sigkill_after_checkpoint_then_resume(tmp_path, data_root):
    env = environment(data_root)
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    proc = subprocess.run(command(straight), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]

    # Its own process group, killed whole as a scheduler kills a job: the dataloader's workers
    # would outlive a kill of the main process alone.
    victim = subprocess.Popen(command(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    ckpt2 = osp.join(killed, 'iter_2.pth')
    deadline = time.time() + 600
    while not osp.isfile(osp.join(killed, 'last_checkpoint')) and victim.poll() is None:
        assert time.time() < deadline, 'no checkpoint written in time'
        time.sleep(0.05)
    os.killpg(victim.pid, signal.SIGKILL)  # during iteration 3
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, 'the run finished before it could be killed'
    assert osp.isfile(ckpt2) and not osp.exists(osp.join(killed, 'iter_4.pth'))
    # Only complete checkpoints: atomic writes leave no half file under a checkpoint name.
    assert sorted(os.listdir(killed)) == sorted(
        n for n in os.listdir(killed) if not n.endswith('.tmp'))

    proc = subprocess.run(command(killed, '--resume'), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'resumed epoch: 0, iter: 2' in proc.stdout + proc.stderr

    a, b = losses(straight), losses(killed)
    assert set(a) == {1, 2, 3, 4} and set(b) == {1, 2, 3, 4}, (a, b)
    for it in (3, 4):  # the iterations after the kill: same losses as the uninterrupted run
        assert abs(a[it] - b[it]) <= 1e-5 * max(1., abs(a[it])), (it, a, b)
    assert len({a[1], a[2], a[3], a[4]}) == 4  # the losses move, so equal ones mean something
    assert_same_training_state(osp.join(straight, 'iter_4.pth'), osp.join(killed, 'iter_4.pth'))


@pytest.fixture
def lean(tmp_path):
    """The narrow classifier's config, with the kill hook importable beside it."""
    (tmp_path / 'lean.py').write_text(LEAN.format(repo=REPO))
    (tmp_path / 'kill_at.py').write_text(KILL_HOOK)
    return tmp_path


def train(lean, config, work, data_root, *extra, processes=1, check=True, port='29733'):
    args = ['tools/train.py', lean / config, '--work-dir', work, *extra]
    if processes > 1:
        args = ['bash', 'tools/dist_train.sh', lean / config, str(processes), '--work-dir', work, *extra]
    return run_tool(args, python=processes == 1, data_root=data_root, check=check, PORT=port,
                    PYTHONPATH=f'{REPO}{os.pathsep}{lean}', TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=None)


def kill_and_resume(lean, data_root, kill_at, processes=1, options=()):
    """Train until iteration ``kill_at`` (in epoch 2) kills the run, then resume it; the work dir
    and the seed the run drew (the config sets none)."""
    (lean / 'victim.py').write_text(VICTIM.format(kill_at=kill_at))
    killed = lean / 'killed'
    options = ('--cfg-options', *options) if options else ()
    proc = train(lean, 'victim.py', killed, data_root, *options, processes=processes, check=False)
    assert proc.returncode == -signal.SIGKILL or 'SIGKILL' in proc.output, proc.output[-3000:]
    assert sorted(n for n in os.listdir(killed) if n.endswith('.pth')) == ['epoch_1.pth']
    seed = load(killed / 'epoch_1.pth')['meta']['seed']
    log = train(lean, 'lean.py', killed, data_root, '--resume', *options, processes=processes).output
    assert f'resumed epoch: 1, iter: {kill_at - 1}' in log, log[-3000:]
    return killed, seed


@pytest.mark.slow
def test_resume_with_persistent_workers_and_validation(lean, data_root):
    killed, seed = kill_and_resume(lean, data_root, kill_at=4)
    straight, no_workers = lean / 'straight', lean / 'no_workers'
    train(lean, 'lean.py', straight, data_root, '--cfg-options', f'randomness.seed={seed}')
    train(lean, 'lean.py', no_workers, data_root, '--cfg-options', f'randomness.seed={seed}',
          'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False')

    a, b, c = losses(straight), losses(killed), losses(no_workers)
    assert set(a) == set(b) == set(c) == set(range(1, 10)), (a, b, c)
    assert len(set(a.values())) == 9  # the losses move, so equal ones mean something
    # A sample draws the same augmentation in whichever process loads it ...
    assert a == c, (a, c)
    # ... and the run killed during iteration 5 goes on as if it had not been.
    assert a == b, (a, b)
    assert_same_training_state(straight / 'epoch_3.pth', killed / 'epoch_3.pth', rtol=0)


@pytest.mark.slow
def test_resume_two_processes(lean, data_root):
    # Each rank its own seed (mmengine's diff_rank_seed), so that the ranks' generators differ;
    # the sampler's seed then has to be given (mmengine draws a new one for each run).
    options = ('randomness.diff_rank_seed=True', 'train_dataloader.sampler.seed=0')
    killed, seed = kill_and_resume(lean, data_root, kill_at=3, processes=2, options=options)
    straight = lean / 'straight'
    train(lean, 'lean.py', straight, data_root, '--cfg-options', f'randomness.seed={seed}', *options,
          processes=2)
    a, b = losses(straight), losses(killed)
    assert set(a) == set(b) == set(range(1, 7)), (a, b)  # 6 images per process: 2 iterations
    assert a == b, (a, b)
    # Rank 1's draws (stochastic depth, Mixup) enter the averaged gradients.
    assert_same_training_state(straight / 'epoch_3.pth', killed / 'epoch_3.pth', rtol=0)
    saved = load(killed / 'epoch_3.pth')['message_hub']['runtime_info']['rng_state']['ranks']
    assert len(saved) == 2 and not torch.equal(saved[0]['torch'], saved[1]['torch'])
