"""A seed per sample: each sample's random draws are the same with 0 or 2 data workers, persistent
or not, differ between samples, epochs and ranks, and leave the main process's generators alone."""
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, DataLoader

import restv2_mm  # noqa: F401  (registers SeededSampler)
from restv2_mm.engine import SeededSampler
from restv2_mm.engine.hooks import SeededIndex, get_rng_state, sample_seed


class Draws:
    """A dataset whose sample i is (i, a draw of Python's, NumPy's and torch's generators), as
    an augmentation pipeline draws."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return int(i), random.random(), float(np.random.rand()), float(torch.rand(()))


def draws(sampler, num_workers, epochs=(0, 1)):
    """sample (epoch, index) -> its draws, through a DataLoader as mmengine builds one (with a
    generator of its own for the workers' base seed, as RNGStateHook gives the train loader)."""
    loader = DataLoader(sampler.dataset, batch_sampler=BatchSampler(sampler, 3, False),
                        num_workers=num_workers, persistent_workers=num_workers > 0,
                        collate_fn=list, generator=torch.Generator().manual_seed(0))
    out = {}
    for epoch in epochs:
        sampler.set_epoch(epoch)
        for batch in loader:
            out.update(((epoch, i), tuple(rest)) for i, *rest in batch)
    return out


def test_a_sample_draws_the_same_in_any_process():
    main = draws(SeededSampler(Draws(), dict(type='DefaultSampler', shuffle=True), seed=7), 0)
    workers = draws(SeededSampler(Draws(), dict(type='DefaultSampler', shuffle=True), seed=7), 2)
    assert len(main) == 20 and main == workers
    # Every sample of every epoch draws its own numbers.
    assert len({v for v in main.values()}) == 20
    # Without the seeds, the workers draw other numbers than the main process would.
    plain = draws(DefaultSampler(Draws(), shuffle=True, seed=7), 0)
    assert draws(DefaultSampler(Draws(), shuffle=True, seed=7), 2) != plain


def test_seeds_follow_seed_rank_epoch_and_position():
    words = sample_seed(7, 0, 1, 2)
    assert words.dtype == np.uint32 and words.shape == (4, )
    assert np.array_equal(words, sample_seed(7, 0, 1, 2))
    others = [sample_seed(8, 0, 1, 2), sample_seed(7, 1, 1, 2), sample_seed(7, 0, 2, 2),
              sample_seed(7, 0, 1, 3)]
    assert not any(np.array_equal(words, o) for o in others)
    sampler = SeededSampler(Draws(), dict(type='DefaultSampler', shuffle=False), seed=7)
    sampler.set_epoch(1)
    indices = list(sampler)
    assert indices == list(range(10)) and all(isinstance(i, SeededIndex) for i in indices)
    assert np.array_equal(indices[2].seed, words)


def test_loading_leaves_the_main_generators_alone():
    torch.manual_seed(0)
    before = get_rng_state()
    draws(SeededSampler(Draws(), dict(type='DefaultSampler', shuffle=True), seed=7), 0)
    after = get_rng_state()
    assert torch.equal(before['torch'], after['torch']) and before['python'] == after['python']
    assert np.array_equal(before['numpy'][1], after['numpy'][1])


def test_wrapper_is_a_sampler_in_every_other_way():
    dataset = Draws()
    sampler = DATA_SAMPLERS.build(dict(type='SeededSampler', sampler=dict(type='DefaultSampler')),
                                  default_args=dict(dataset=dataset, seed=3))
    assert isinstance(sampler.sampler, DefaultSampler) and sampler.seed == 3
    assert len(sampler) == 10 and sampler.shuffle is True  # the wrapped sampler's attribute
    sampler.set_epoch(4)
    assert sampler.sampler.epoch == 4
    index = SeededIndex(5, sample_seed(3, 0, 0, 0))
    copy = pickle.loads(pickle.dumps(index))  # as sent to a worker
    assert copy == 5 and np.array_equal(copy.seed, index.seed) and [0, 1, 2, 3, 4, 5][copy] == 5
    with pytest.raises(AttributeError):
        sampler.no_such_attribute
