"""Reading checkpoint files safely: torch's ``weights_only`` loader and our allowed globals."""
import os
import pickle
import re

import torch

from .safe_globals import UNSAFE_LOAD_ENV, register_safe_globals, unsafe_load_enabled


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds an object that the safe loader does not build (it may run code)."""


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
            f'global is plain data, allow it with torch.serialization.add_safe_globals. '
            f'({type(error).__name__}: {str(error).splitlines()[0]})')


def read_checkpoint(path: str) -> dict:
    """Read a checkpoint file on the CPU with torch's safe ``weights_only`` loader (the globals of
    :mod:`.safe_globals` allowed), or with full unpickling where the user turned it on
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` / ``--unsafe-load``).

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: it holds another global; the message names it and how to proceed.
        RuntimeError: the file is not a readable torch checkpoint (truncated, another format).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path!r} (init_cfg.checkpoint)')
    register_safe_globals()
    try:
        return torch.load(path, map_location='cpu', weights_only=not unsafe_load_enabled())
    except pickle.UnpicklingError as e:
        # torch words it 'Unsupported global: GLOBAL x', 'unsupported GLOBAL x whose module is
        # blocked', 'unrecognized function' or 'Can only build ... but got <class x>'.
        if re.search(r'unsupported global|unrecognized function|can only build', str(e), re.I):
            raise UnsafeCheckpointError(unsafe_global_message(path, e)) from None
        raise RuntimeError(f'{path!r} is not a readable torch checkpoint (truncated or another '
                           f'format): {type(e).__name__}: {e}') from e
    except Exception as e:  # zipfile/EOF errors all mean the same thing to the user
        raise RuntimeError(f'{path!r} is not a readable torch checkpoint '
                           f'(truncated or another format): {type(e).__name__}: {e}') from e
