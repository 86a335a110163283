"""A seed per training sample, so that data augmentation does not depend on the data workers.

Data-loader workers draw augmentation from generators of their own, seeded once when they start;
what a worker draws for a sample then depends on which worker loads it and on everything it
loaded before. :class:`SeededSampler` gives every sample a seed instead, derived from the run's
seed, the rank, the epoch and the sample's position in the epoch, and the generators (Python's,
NumPy's, torch's CPU) are seeded from it right before the sample is loaded, in whichever process
loads it. A sample's augmentation is then the same with 0, 2 or 8 workers, persistent or not,
and a resumed run draws what the uninterrupted run drew.
"""
import random
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler, get_worker_info

from .rng_state import get_rng_state, set_rng_state


def sample_seed(seed: int, rank: int, epoch: int, position: int) -> np.ndarray:
    """Four 32-bit words, well mixed (NumPy's ``SeedSequence``), from the four numbers."""
    entropy = [seed & 0xFFFFFFFFFFFFFFFF, rank, epoch, position]
    return np.random.SeedSequence(entropy).generate_state(4)


def seed_generators(words: np.ndarray) -> None:
    """Seed Python's, NumPy's and torch's CPU generators from :func:`sample_seed`'s words."""
    random.seed(int.from_bytes(words.tobytes(), 'little'))
    np.random.seed(words)
    torch.default_generator.manual_seed(int(words[0]) << 32 | int(words[1]))


class SeededIndex(int):
    """A dataset index carrying its sample's seed (:func:`sample_seed`'s words). An ``int`` to
    everything that reads it (batch samplers, ``dataset.get_data_info``)."""

    def __new__(cls, index: int, seed: np.ndarray):
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):  # sent to the workers through a queue
        return SeededIndex, (int(self), self.seed)


class SeededFetch:
    """A dataset's ``__getitems__`` (torch's fetcher calls it with a batch of indices, in the
    main process or in a worker): seeds the generators from each :class:`SeededIndex` before
    loading its sample. In the main process (``num_workers=0``) the generators are restored
    afterwards, so that the model's random draws (drop path, RoI sampling) do not depend on the data."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __call__(self, indices: Sequence[int]) -> List:
        saved = get_rng_state(cuda=False) if get_worker_info() is None else None
        try:
            samples = []
            for index in indices:
                words = getattr(index, 'seed', None)
                if words is not None:
                    seed_generators(words)
                samples.append(self.dataset[int(index)])
            return samples
        finally:
            if saved is not None:
                set_rng_state(saved)


class SeededSampler(Sampler):
    """Wraps a sampler so that each sample it yields carries a seed (:class:`SeededIndex`), and
    makes the dataset seed the generators from it before loading the sample (:class:`SeededFetch`
    as its ``__getitems__``, which torch's ``DataLoader`` calls for every batch).

    The seed of the k-th sample of epoch e on rank r is ``sample_seed(seed, r, e, k)``: the same
    whichever worker loads it, however many workers there are, and after a resume (mmengine
    restores the epoch and replays the iterations of the current one). ``tools/train.py`` wraps
    every config's train sampler with it; in a config for the stock tools::

        train_dataloader = dict(sampler=dict(
            type='SeededSampler', sampler=dict(type='DefaultSampler', shuffle=True)))

    Args:
        dataset: The dataset (mmengine's ``build_dataloader`` passes it).
        sampler (dict | Sampler): The sampler to wrap, or its config (built with ``dataset`` and
            ``seed``). Default: ``DefaultSampler(shuffle=True)``.
        seed (int, optional): The run's seed (``build_dataloader`` passes ``randomness.seed``);
            None: the wrapped sampler's, or a seed shared by all ranks.

    Attributes not found here are the wrapped sampler's (``dataset``, ``shuffle``...), so that
    batch samplers (mmdet's ``AspectRatioBatchSampler``) read them as before.
    """

    def __init__(self, dataset, sampler: Union[dict, Sampler, None] = None, seed: Optional[int] = None):
        if sampler is None:
            sampler = DefaultSampler(dataset, shuffle=True, seed=seed)
        elif isinstance(sampler, dict):
            sampler = DATA_SAMPLERS.build(sampler, default_args=dict(dataset=dataset, seed=seed))
        self.sampler = sampler
        self.dataset = dataset
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank = get_dist_info()[0]
        self.epoch = 0
        dataset.__getitems__ = SeededFetch(dataset)

    def __iter__(self) -> Iterator[SeededIndex]:
        epoch = self.epoch
        for position, index in enumerate(self.sampler):
            yield SeededIndex(index, sample_seed(self.seed, self.rank, epoch, position))

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, here and in the wrapped sampler."""
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __getattr__(self, name: str):
        if name == 'sampler':  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.sampler, name)
