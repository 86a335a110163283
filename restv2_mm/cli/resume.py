"""Which checkpoint ``--resume`` continues from, and what makes the resumed run repeat the
interrupted one."""
import glob
import os.path as osp
import re
import warnings
import zipfile
from typing import Optional

from mmengine.config import Config, ConfigDict

from ..models.common import check_finite
from ..utils import read_checkpoint
from .checks import by_part


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (a truncated one has no central directory)."""
    try:
        with zipfile.ZipFile(path) as f:
            return len(f.namelist()) > 0
    except (OSError, zipfile.BadZipFile):
        return False


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: the one named in ``work_dir/last_checkpoint``,
    else the newest complete ``iter_*.pth`` / ``epoch_*.pth``; None where there is none.

    Checkpoints are written atomically (``AtomicLocalBackend``), but files from other tools or a
    ``last_checkpoint`` cut by a crash are skipped with a warning, never resumed from.
    """
    named = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(named):
        with open(named) as f:
            path = f.read().strip()
        if path and is_complete_checkpoint(path):
            return path
        warnings.warn(f'{named} names {path!r}, which is missing or incomplete: '
                      'resuming from the newest complete checkpoint instead')

    def step(p):
        m = re.search(r'(\d+)\.pth$', p)
        return int(m.group(1)) if m else -1

    found = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')) +
                   glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=step, reverse=True)
    for path in found:
        if is_complete_checkpoint(path):
            return path
        warnings.warn(f'skipping incomplete checkpoint {path}')
    return None


def resume_checkpoint(path: str) -> dict:
    """The runner checkpoint ``--resume`` continues from, memory-mapped (its tensors are read only
    where used), after the checks mmengine's ``Runner.resume`` skips: a training checkpoint
    (``meta`` with the epoch and iteration, ``optimizer`` state) whose weights are finite.

    Raises:
        RuntimeError: not a torch checkpoint, or truncated.
        ValueError: a checkpoint of weights only (mmengine stops with ``KeyError: 'epoch'``), or
            NaN/Inf weights (see :func:`restv2_mm.models.common.check_finite`).
    """
    # mmap needs the zip format torch.save writes; anything else gets read_checkpoint's message.
    checkpoint = read_checkpoint(path, mmap=is_complete_checkpoint(path))
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    missing = [f'meta.{k}' for k in ('epoch', 'iter') if not isinstance(meta, dict) or k not in meta]
    missing += [k for k in ('state_dict', 'optimizer') if k not in (checkpoint or {})]
    if missing:
        raise ValueError(
            f'--resume {path!r}: not a checkpoint of a training run (it lacks {", ".join(missing)}), '
            f'so there is nothing to resume; to start a new run from its weights, pass '
            f'--cfg-options load_from={path} without --resume')
    check_finite(checkpoint['state_dict'], path, 'the model', by_part)
    return checkpoint


def make_resume_exact(cfg: Config) -> None:
    """Set up ``cfg`` so that a run killed and resumed repeats the uninterrupted one: the
    generators in every checkpoint (``RNGStateHook``, unless the config has it), a seed per
    training sample (the train sampler wrapped in ``SeededSampler``, unless it is one), and, for
    ``--resume``, the checkpoint's seed (after :func:`resume_checkpoint`'s checks).

    mmengine builds the train dataloader (its sampler's shuffling, the workers' seeds) from the
    config's ``randomness.seed`` before it resumes, and only then takes the checkpoint's seed, so
    a config without a seed (the usual case: mmengine draws one) would read the data in another
    order after a resume. The checkpoint's seed goes into the config instead; a config seed that
    differs from it is replaced with a warning, as mmengine replaces it for the generators.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('RNGStateHook', 'restv2_mm.RNGStateHook') for h in hooks):
        cfg.custom_hooks = hooks + [dict(type='RNGStateHook')]
    loader = cfg.get('train_dataloader')
    if isinstance(loader, dict) and isinstance(loader.get('sampler'), dict) and \
            loader.sampler.get('type') not in ('SeededSampler', 'restv2_mm.SeededSampler'):
        loader.sampler = ConfigDict(type='SeededSampler', sampler=loader.sampler)
    if not (cfg.get('resume') and cfg.get('load_from')):
        return
    seed = resume_checkpoint(cfg.load_from)['meta'].get('seed')
    randomness = ConfigDict(cfg.get('randomness') or {})
    if seed is None or randomness.get('seed') == seed:
        return
    if randomness.get('seed') is not None:
        warnings.warn(f"randomness.seed={randomness.seed} differs from the seed {seed} of "
                      f"{cfg.load_from}: resuming with {seed}, as the runner's generators do")
    randomness.seed = seed
    cfg.randomness = randomness
