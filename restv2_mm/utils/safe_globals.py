"""What checkpoints may hold besides tensors, allowed for torch's ``weights_only`` loader.

torch >= 2.6 loads with ``weights_only=True``: an unpickler that builds only tensors, plain
containers and the globals allowed here, and calls nothing else, so a checkpoint cannot run code.
On torch < 2.4 (no ``add_safe_globals``) the same list is enforced by
:mod:`restv2_mm.utils.restricted_pickle`.
mmengine 0.10.7 calls ``torch.load`` without arguments, so its runner checkpoints fail to load
("Unsupported global") until the classes they pickle are allowed. ``import restv2_mm`` (which a
config's ``custom_imports`` does in every stock OpenMMLab tool) registers exactly this list, with
the reason for each entry. Nothing in it runs code: each entry only rebuilds data.
"""
import argparse
import pickle
from typing import Any, List, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# The environment variable with which torch itself turns full unpickling back on.
UNSAFE_LOAD_ENV = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_statistic(obj: Any, name: str) -> Any:
    """The one ``getattr`` a runner checkpoint needs: a HistoryBuffer pickles its statistics
    methods (``min``, ``max``, ``current``, ``mean`` and registered ones) as
    ``getattr(HistoryBuffer, name)``. Anything else is refused, so the allowed ``getattr`` reaches
    no other attribute."""
    # The built-in four are added to _statistics_methods only when a first HistoryBuffer is made,
    # which a fresh process loading a checkpoint has not done yet.
    if obj is HistoryBuffer and (name in _BUILTIN_STATISTICS
                                 or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed: restv2_mm allows getattr only for '
        'HistoryBuffer statistics methods in checkpoints')


_multiarray = np.core.multiarray  # numpy 1.x; numpy 2 renames it numpy._core (pinned 1.26)

# (global, why a checkpoint holds it). A (callable, 'module.name') pair stands in for that name.
SAFE_GLOBALS: List[Tuple[Any, str]] = [
    (HistoryBuffer, 'mmengine MessageHub log scalars (message_hub.log_scalars) in every runner '
                    'checkpoint: a plain object whose state is numpy arrays and its max_length'),
    ((_history_buffer_statistic, 'builtins.getattr'),
     'HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, name); this stand-in '
     'returns only those'),
    (_multiarray._reconstruct, 'numpy arrays: HistoryBuffer histories, the NumPy RNG state that '
                               'RNGStateHook saves (np.random.get_state())'),
    (np.ndarray, 'numpy arrays (as above)'),
    (np.dtype, 'the dtype of those arrays and scalars'),
    (_multiarray.scalar, 'numpy scalars in runtime info and the NumPy RNG state'),
    (bytes, 'raw bytes of numpy array data'),
    *((cls, 'numpy >= 1.25 pickles a dtype by its class (numpy.dtypes.Float64DType, ...): a type '
            'object, as np.dtype itself') for cls in vars(np.dtypes).values()
      if isinstance(cls, type) and issubclass(cls, np.dtype)),
    (argparse.Namespace, "the official ResT/ResTv2 release checkpoints keep main.py's arguments "
                         "under 'args' (attribute values only)"),
]


def register_safe_globals() -> bool:
    """Allow :data:`SAFE_GLOBALS` for every ``torch.load(weights_only=True)`` in the process
    (``torch.serialization.add_safe_globals``, torch >= 2.4). Idempotent.

    Returns:
        bool: whether they were registered; False on an older torch, where
        :func:`restv2_mm.utils.read_checkpoint` enforces the list through
        :mod:`restv2_mm.utils.restricted_pickle` instead.
    """
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return False
    torch.serialization.add_safe_globals([g for g, _ in SAFE_GLOBALS])
    return True


def unsafe_load_enabled() -> bool:
    """Whether the user turned full unpickling on (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, or
    ``--unsafe-load`` of our tools, which sets it). Only for checkpoints one trusts: a pickle can run
    any code."""
    import os
    return os.environ.get(UNSAFE_LOAD_ENV, '0').strip().lower() in ('1', 'true', 'yes', 'on')
