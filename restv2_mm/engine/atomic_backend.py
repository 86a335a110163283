"""A local file backend whose writes are atomic: a crash mid-write never leaves a half file."""
from pathlib import Path
from typing import Union

from mmengine.fileio.backends import LocalBackend

from ..utils.report import atomic_write


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` with ``put``/``put_text`` written through
    :func:`restv2_mm.utils.report.atomic_write` (a temporary file in the target's folder, fsync'ed,
    then renamed over the target): a process killed at any point leaves either the old file or the
    complete new one, and at worst a stray ``.<name>.*.tmp`` beside it. Selected for checkpoints by
    ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``, which
    ``tools/train.py`` sets when the config gives no ``backend_args``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(str(filepath), obj, encoding=encoding)
