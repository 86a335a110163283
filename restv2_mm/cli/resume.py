"""Which checkpoint ``--resume`` continues from, and what makes the resumed run repeat the
interrupted one."""
import glob
import os.path as osp
import re
import warnings
import zipfile
from typing import Optional

from mmengine.config import Config, ConfigDict

from ..utils import read_checkpoint


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


def checkpoint_seed(path: str) -> Optional[int]:
    """The seed a runner checkpoint was trained with (``meta['seed']``), read without loading its
    tensors (memory-mapped); None where it has none."""
    meta = read_checkpoint(path, mmap=True).get('meta')
    return meta.get('seed') if isinstance(meta, dict) else None


def make_resume_exact(cfg: Config) -> None:
    """Set up ``cfg`` so that a run killed and resumed repeats the uninterrupted one: the
    generators in every checkpoint (``RNGStateHook``, unless the config has it), a seed per
    training sample (the train sampler wrapped in ``SeededSampler``, unless it is one), and, for
    ``--resume``, the checkpoint's seed.

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
    seed = checkpoint_seed(cfg.load_from)
    randomness = ConfigDict(cfg.get('randomness') or {})
    if seed is None or randomness.get('seed') == seed:
        return
    if randomness.get('seed') is not None:
        warnings.warn(f"randomness.seed={randomness.seed} differs from the seed {seed} of "
                      f"{cfg.load_from}: resuming with {seed}, as the runner's generators do")
    randomness.seed = seed
    cfg.randomness = randomness
