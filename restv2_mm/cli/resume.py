"""Which checkpoint ``--resume`` continues from."""
import glob
import os.path as osp
import re
import warnings
import zipfile
from typing import Optional


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
