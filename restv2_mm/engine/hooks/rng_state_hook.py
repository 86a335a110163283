"""Save the random number generators with each checkpoint and restore them on resume."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop


def get_rng_state() -> dict:
    """The states of Python's, NumPy's and torch's (CPU and every CUDA device) generators."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`; CUDA states are restored only where CUDA is available
    with the same number of devices."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class _RestoreBeforeNext:
    """Wraps a train loop's dataloader iterator: after ``skip`` calls (mmengine's fast-forward
    over the batches already trained on) it restores ``state`` before fetching the next batch,
    so the resumed batch sees the generators exactly as the interrupted run would have."""

    def __init__(self, iterator, skip: int, state: dict):
        self._iterator, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None and self._skip == 0:
            set_rng_state(self._state)
            self._state = None
        self._skip -= 1
        return next(self._iterator)


class RNGStateHook(Hook):
    """Make ``--resume`` continue the random streams, not restart them.

    mmengine's runner saves the seed, not the generators: on resume it re-seeds, so data
    augmentation, RoI sampling and stochastic depth draw other numbers than the interrupted run
    would have. This hook stores the generators in every checkpoint (``checkpoint['rng_state']``)
    and restores them right before the first batch after resuming. With an iteration-based loop
    and ``num_workers=0`` the resumed run then reproduces the uninterrupted losses exactly on the
    CPU (``tests/test_resume.py``). Data-loader worker processes reseed themselves when they
    start, so with workers the augmentation stream after a resume still differs.
    """

    priority = 'VERY_LOW'
    info_key = 'rng_state'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Inside the message hub's runtime info, the one part of a checkpoint that
        # ``Runner.resume`` hands back (it calls no hook with the checkpoint).
        checkpoint['message_hub']['runtime_info'][self.info_key] = get_rng_state()

    def before_train_epoch(self, runner) -> None:
        state = runner.message_hub.get_info(self.info_key)
        if state is None:
            return
        runner.message_hub.update_info(self.info_key, None)
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            # The loop fast-forwards ``loop.iter`` batches right after this hook.
            loop.dataloader_iterator = _RestoreBeforeNext(loop.dataloader_iterator, loop.iter, state)
        else:  # epoch-based: the epoch's iterator is built right after this hook
            set_rng_state(state)
