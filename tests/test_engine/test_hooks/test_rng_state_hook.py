"""RNGStateHook without a training run: each rank restores its own generators, validation leaves
them as it found them, and the hook gathers exactly where mmengine's CheckpointHook saves."""
import random
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub

from restv2_mm.engine import RNGStateHook
from restv2_mm.engine.hooks import get_rng_state, set_rng_state
from restv2_mm.engine.hooks.rng_state_hook import checkpoint_due


def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def runner(rank=0, world_size=1, **kw):
    hub = MessageHub.get_instance(f'rng_test_{rank}_{world_size}_{len(kw)}')
    loop = SimpleNamespace(dataloader=SimpleNamespace(generator=None))  # an epoch-based loop
    return SimpleNamespace(rank=rank, world_size=world_size, message_hub=hub, train_loop=loop,
                           seed=1, hooks=[], **kw)


def state_after(seed):
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    return get_rng_state()


@pytest.mark.parametrize('rank', [0, 1])
def test_each_rank_restores_its_own_generators(rank):
    states = [state_after(10), state_after(11)]
    r = runner(rank=rank, world_size=2)
    r.message_hub.update_info('rng_state', dict(ranks=states))
    state_after(99)
    RNGStateHook().before_train_epoch(r)
    expected = draw()
    set_rng_state(states[rank])
    assert expected == draw()
    assert r.message_hub.get_info('rng_state') is None  # restored once


def test_checkpoint_of_another_world_size_warns():
    r = runner(rank=1, world_size=2)
    r.message_hub.update_info('rng_state', state_after(10))  # an older checkpoint: rank 0's alone
    with pytest.warns(UserWarning, match='1 process.*this run has 2.*rank 1 keeps its fresh'):
        RNGStateHook().before_train_epoch(r)


def test_saved_per_rank_and_validation_leaves_the_generators_alone():
    hook, r = RNGStateHook(), runner()
    hook.before_train(r)
    assert isinstance(r.train_loop.dataloader.generator, torch.Generator)
    state_after(5)
    hook.before_val(r)
    before = get_rng_state()
    draw(), draw()  # validation draws (a DataLoader iterator takes a base seed)
    checkpoint = dict(message_hub=dict(runtime_info={}))
    hook.before_save_checkpoint(r, checkpoint)  # save_best, during validation
    hook.after_val(r)
    saved = checkpoint['message_hub']['runtime_info']['rng_state']['ranks']
    assert len(saved) == 1 and torch.equal(saved[0]['torch'], before['torch'])
    first = draw()
    set_rng_state(before)
    assert draw() == first  # training goes on from where it was


@pytest.mark.parametrize('by_epoch', [False, True])
def test_checkpoint_due_is_when_checkpoint_hook_saves(by_epoch):
    hooks = [CheckpointHook(interval=3, by_epoch=by_epoch, save_last=True, save_begin=2),
             CheckpointHook(interval=-1, by_epoch=by_epoch)]
    due, saved = [], []
    for step in range(10):
        r = runner(iter=step, max_iters=10, epoch=step, max_epochs=10, logger=mock.Mock())
        r.hooks = hooks
        due.append(checkpoint_due(r, by_epoch))
        with mock.patch.object(CheckpointHook, '_save_checkpoint') as save:
            for hook in hooks:
                hook.after_train_epoch(r) if by_epoch else hook.after_train_iter(r, step)
        saved.append(save.called)
        assert not checkpoint_due(r, not by_epoch)
    assert due == saved and sum(saved) == 4, (due, saved)  # 5, 8 (every 3 from 2) and 10 (last)
