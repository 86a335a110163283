"""Reading checkpoint files safely on every supported torch: torch's ``weights_only`` loader with
our allowed globals (torch >= 2.4), or the same allow-list through a restricted unpickler (older
torch, which has no ``add_safe_globals``)."""
import os
import pickle
import re
import zipfile
from typing import Any

import torch

from . import restricted_pickle
from .safe_globals import UNSAFE_LOAD_ENV, register_safe_globals, unsafe_load_enabled
from .torch_compat import has_safe_globals


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds an object that the safe loader does not build (it may run code)."""


# Where a plain-data global can be allowed: torch's list, or ours where torch has none (torch < 2.4).
ALLOW_HOW = 'torch.serialization.add_safe_globals' if has_safe_globals() else \
    'an entry in restv2_mm.utils.safe_globals.SAFE_GLOBALS (torch < 2.4 has no add_safe_globals)'


def unsafe_global_message(path: str, error: Exception) -> str:
    """What to say when ``weights_only`` loading refused ``path``: the global, and how to
    proceed knowingly."""
    found = re.search(r"GLOBAL ([\w.]+)|unrecognized function ([^\s]+)|but got <class '([\w.]+)'>",
                      str(error))
    name = next((g for g in found.groups() if g), None) if found else None
    return (f'{path!r} holds {"the global " + repr(name) if name else "an object"} that the safe '
            f'(weights_only) loader does not build, since unpickling it can run code. If you '
            f'trust the file and its source, load it with full unpickling: pass --unsafe-load to '
            f'our tools or set {UNSAFE_LOAD_ENV}=1 (this runs whatever the file contains); if the '
            f'global is plain data, allow it with {ALLOW_HOW}. '
            f'({type(error).__name__}: {str(error).splitlines()[0]})')


def safe_torch_load(path: str, map_location: Any = 'cpu', mmap: bool = False) -> Any:
    """``torch.load`` that builds only tensors, plain containers and the allowed globals, on every
    supported torch; full unpickling only where the user turned it on
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` / ``--unsafe-load``).

    torch >= 2.4: ``weights_only=True`` with :data:`~.safe_globals.SAFE_GLOBALS` registered; older
    torch: the same list through :mod:`.restricted_pickle` (``pickle_module=``). ``mmap`` maps the
    tensors' storage instead of reading it (to read a large checkpoint's metadata only).

    Raises:
        pickle.UnpicklingError: a global outside the list ('Unsupported global: GLOBAL x ...').
        Exception: whatever torch raises for an unreadable file.
    """
    extra = dict(mmap=True) if mmap else {}
    if unsafe_load_enabled():
        return torch.load(path, map_location=map_location, weights_only=False, **extra)
    if has_safe_globals():
        register_safe_globals()
        return torch.load(path, map_location=map_location, weights_only=True, **extra)
    return torch.load(path, map_location=map_location, weights_only=False,
                      pickle_module=restricted_pickle, **extra)


def read_checkpoint(path: str, map_location: Any = 'cpu', mmap: bool = False) -> dict:
    """Read a checkpoint file (on the CPU by default) with :func:`safe_torch_load`: torch's safe
    ``weights_only`` loader or the restricted unpickler (the globals of :mod:`.safe_globals`
    allowed), or with full unpickling where the user turned it on
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` / ``--unsafe-load``). ``mmap``: see
    :func:`safe_torch_load`.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: it holds another global; the message names it and how to proceed.
        RuntimeError: the file is not a readable torch checkpoint (truncated, another format).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r}')
    try:
        return safe_torch_load(path, map_location, mmap=mmap)
    except pickle.UnpicklingError as e:
        if _is_unsafe_global(e):
            raise UnsafeCheckpointError(unsafe_global_message(path, e)) from None
        raise RuntimeError(_unreadable_message(path, e)) from e
    except Exception as e:  # zipfile/EOF errors all mean the same thing to the user
        raise RuntimeError(_unreadable_message(path, e)) from e


def _unreadable_message(path: str, error: Exception) -> str:
    """Why ``path`` is no checkpoint, with torch's reason in short: its weights_only message goes
    on to advise ``weights_only=False``, which would not read such a file either."""
    text = str(error)
    found = re.search(r'WeightsUnpickler error:\s*(\S.*)', text)
    reason = found.group(1).strip() if found else (text.splitlines() or [''])[0].split('. ')[0]
    with open(path, 'rb') as f:
        zipped = f.read(4) == b'PK\x03\x04'
    kind = ('a zip archive but not a whole torch one: truncated?' if zipped and not zipfile.is_zipfile(path)
            else 'truncated or another format' if zipped else
            'not the zip archive torch.save writes, nor a legacy torch file')
    return f'{path!r} is not a readable torch checkpoint ({kind}): {type(error).__name__}: {reason}'


def _is_unsafe_global(error: Exception) -> bool:
    # torch words it 'Unsupported global: GLOBAL x', 'unsupported GLOBAL x whose module is
    # blocked', 'unrecognized function' or 'Can only build ... but got <class x>'.
    return isinstance(error, pickle.UnpicklingError) and bool(
        re.search(r'unsupported global|unrecognized function|can only build', str(error), re.I))


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """mmengine's local-file checkpoint loader (``CheckpointLoader`` scheme ``''``: what
    ``load_checkpoint``, ``runner.load_checkpoint`` and ``runner.resume`` read files with), through
    :func:`safe_torch_load`. mmengine calls plain ``torch.load(filename, map_location)``, which
    is safe only where torch's default is ``weights_only=True`` (torch >= 2.6).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file holds a global outside the allow-list.
    """
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return safe_torch_load(filename, map_location)
    except pickle.UnpicklingError as e:
        if _is_unsafe_global(e):
            raise UnsafeCheckpointError(unsafe_global_message(filename, e)) from None
        raise
