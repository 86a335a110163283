"""A local file backend whose writes are atomic: a crash mid-write never leaves a half file."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine
from mmengine.fileio.backends import LocalBackend


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` with ``put``/``put_text`` written through a temporary file.

    The bytes go to a temporary file in the target's folder, are flushed and fsync'ed, and the
    file is then renamed over the target (``os.replace``, atomic on POSIX). A process killed at
    any point leaves either the old file or the complete new one, and at worst a stray
    ``.<name>.*.tmp`` beside it. Selected for checkpoints by
    ``default_hooks.checkpoint.backend_args=dict(backend='atomic_local')``, which
    ``tools/train.py`` sets when the config gives no ``backend_args``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        mmengine.mkdir_or_exist(folder)
        fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)
