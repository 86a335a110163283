"""Killed training resumes without loss: same iteration, optimizer state and losses.

Runs the demo Mask R-CNN config on the real COCO images at a small scale: an uninterrupted run of
4 iterations, and a run killed with SIGKILL after its iteration-2 checkpoint, then resumed.
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

from helpers import REPO

CONFIG = 'configs/mmdet/demo/mask_rcnn_restv2_t_coco_mini.py'
OPTIONS = ['randomness.seed=0', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2',
           'default_hooks.checkpoint.max_keep_ckpts=3', 'default_hooks.logger.interval=1',
           'train_dataloader.dataset.pipeline.2.scale=(256,160)',
           'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']


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


@pytest.mark.slow
def test_sigkill_after_checkpoint_then_resume(tmp_path, data_root):
    env = environment(data_root)
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    proc = subprocess.run(command(straight), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]

    victim = subprocess.Popen(command(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    ckpt2 = osp.join(killed, 'iter_2.pth')
    deadline = time.time() + 600
    while not osp.isfile(osp.join(killed, 'last_checkpoint')) and victim.poll() is None:
        assert time.time() < deadline, 'no checkpoint written in time'
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)  # during iteration 3
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

    def load(work):
        return torch.load(osp.join(work, 'iter_4.pth'), map_location='cpu', weights_only=False)

    ca, cb = load(straight), load(killed)
    assert ca['meta']['iter'] == cb['meta']['iter'] == 4
    for key in ca['state_dict']:
        torch.testing.assert_close(ca['state_dict'][key], cb['state_dict'][key], rtol=1e-5, atol=1e-6)
    sa, sb = ca['optimizer']['state'], cb['optimizer']['state']
    assert sa.keys() == sb.keys() and len(sa) > 0
    for k in sa:
        assert sa[k]['step'] == sb[k]['step']
        torch.testing.assert_close(sa[k]['exp_avg'], sb[k]['exp_avg'], rtol=1e-5, atol=1e-7)
    assert ca['param_schedulers'] == cb['param_schedulers']
