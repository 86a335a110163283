"""Save every process's random number generators with each checkpoint and restore them on resume."""
import warnings
from typing import List, Optional

import torch
from mmengine.dist import all_gather_object
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import IterBasedTrainLoop

from .rng_state import get_rng_state, set_rng_state


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


def checkpoint_due(runner, by_epoch: bool) -> bool:
    """Whether a ``CheckpointHook`` of ``runner`` saves at the end of this iteration
    (``by_epoch=False``) or epoch: the hook's own test (mmengine 0.10's ``after_train_iter`` /
    ``after_train_epoch``), asked before it runs."""
    for hook in runner.hooks:
        if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
            continue
        if by_epoch:
            due = hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_epoch(runner))
        else:
            due = hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_iter(runner))
        if due:
            return True
    return False


class RNGStateHook(Hook):
    """Make ``--resume`` continue the random streams, not restart them.

    mmengine's runner saves the seed, not the generators: on resume it re-seeds, so RoI sampling,
    stochastic depth and batch augmentations (Mixup) draw other numbers than the interrupted run
    would have. This hook stores the generators (Python, NumPy, torch CPU and CUDA) of every
    process in each checkpoint (``checkpoint['message_hub']['runtime_info']['rng_state']``:
    ``dict(ranks=[state of rank 0, rank 1, ...])``) and restores each process's own right before
    the first batch after resuming. Data augmentation draws from a seed per sample
    (:class:`SeededSampler`), the same with any number of workers. Validation during training
    leaves the generators as it found them, so a run that validates where it saved resumes alike.
    ``tests/test_tools/test_resume.py`` kills runs (one process and two, with data workers) and
    compares the resumed losses, weights and optimizer state with the uninterrupted run.

    Only rank 0 writes a checkpoint, and ``runner.save_checkpoint`` calls
    ``before_save_checkpoint`` there alone; so the ranks' states are gathered (one
    ``all_gather_object``) where a ``CheckpointHook`` is about to save: after the train iteration
    or epoch whose end it saves at (this hook runs before it, priority ``'LOW'``), and before
    validation (for ``save_best``).
    """

    priority = 'LOW'
    info_key = 'rng_state'

    def __init__(self):
        self._gathered: Optional[List[dict]] = None  # every rank's state, for the next save
        self._before_val: Optional[List[dict]] = None

    def before_train(self, runner) -> None:
        # Every DataLoader iterator takes a base seed for its workers from a generator: the global
        # one unless the loader has its own. A persistent-worker loader takes it once, a resumed
        # run once more, and training would draw other numbers after a resume; with a generator of
        # its own the loader leaves the global streams alone. (Samples are seeded on their own.)
        loader = getattr(runner.train_loop, 'dataloader', None)
        if getattr(loader, 'generator', True) is None:
            loader.generator = torch.Generator().manual_seed(runner.seed)

    # ------------------------------------------------------------------------------ saving
    def _states(self, runner) -> List[dict]:
        state = get_rng_state()
        return all_gather_object(state) if runner.world_size > 1 else [state]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._gathered = None  # gathered for a save that did not happen

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.world_size > 1 and checkpoint_due(runner, by_epoch=False):
            self._gathered = self._states(runner)

    def after_train_epoch(self, runner) -> None:
        if runner.world_size > 1 and checkpoint_due(runner, by_epoch=True):
            self._gathered = self._states(runner)

    def before_val(self, runner) -> None:
        self._before_val = self._states(runner)

    def after_val(self, runner) -> None:
        # Validation draws from the generators (a DataLoader iterator takes a base seed): a
        # resumed run, which does not repeat it, must find them as training left them.
        set_rng_state(self._before_val[runner.rank])
        self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._before_val is not None:  # save_best, during validation
            states = self._before_val
        elif self._gathered is not None:
            states, self._gathered = self._gathered, None
        else:
            states = [get_rng_state()]
            if runner.world_size > 1:
                warnings.warn('RNGStateHook: a checkpoint saved outside CheckpointHook holds the '
                              "generators of rank 0 only; the other ranks' streams restart on resume")
        # Inside the message hub's runtime info, the one part of a checkpoint that
        # ``Runner.resume`` hands back (it calls no hook with the checkpoint).
        checkpoint['message_hub']['runtime_info'][self.info_key] = dict(ranks=states)

    # ------------------------------------------------------------------------------ resuming
    def _own_state(self, runner, saved) -> Optional[dict]:
        ranks = saved['ranks'] if 'ranks' in saved else [saved]  # older checkpoints: rank 0's
        if len(ranks) == runner.world_size:
            return ranks[runner.rank]
        warnings.warn(f'RNGStateHook: the checkpoint holds the generators of {len(ranks)} '
                      f'process(es), this run has {runner.world_size}: '
                      + ('each rank restores the one of its rank' if runner.rank < len(ranks) else
                         f'rank {runner.rank} keeps its fresh generators')
                      + ', so the resumed run does not repeat the interrupted one exactly')
        return ranks[runner.rank] if runner.rank < len(ranks) else None

    def before_train_epoch(self, runner) -> None:
        saved = runner.message_hub.get_info(self.info_key)
        if saved is None:
            return
        runner.message_hub.update_info(self.info_key, None)
        state = self._own_state(runner, saved)
        if state is None:
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            # The loop fast-forwards ``loop.iter`` batches right after this hook.
            loop.dataloader_iterator = _RestoreBeforeNext(loop.dataloader_iterator, loop.iter, state)
        else:  # epoch-based: the epoch's iterator is built right after this hook
            set_rng_state(state)
