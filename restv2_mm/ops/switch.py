"""The one switch between the fast paths of :mod:`restv2_mm.ops` and their plain-PyTorch references.

Fast paths are on by default. They are off:

- inside ``with fast_path(False):`` (the innermost ``with`` wins);
- where the environment variable ``RESTV2_FAST_PATH`` is ``0`` (``off``/``false``), read at each
  call, so that a whole tool run can be switched from the shell;
- while ``torch.jit`` traces or ``torch.onnx`` exports, so that traces (FLOP counting, export) keep
  portable aten ops.

The references compute the same functions with plain ops (explicit ``softmax(q @ k^T) @ v``,
``Linear`` then ``GELU``) and are what the tests and the exported models compare against.
"""
import contextlib
import os
from typing import Iterator, List, Optional

import torch

FAST_PATH_ENV = 'RESTV2_FAST_PATH'
_TRUE, _FALSE = ('1', 'on', 'true', 'yes'), ('0', 'off', 'false', 'no')
_stack: List[bool] = []


def _from_env() -> bool:
    value = os.environ.get(FAST_PATH_ENV, '1').strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'{FAST_PATH_ENV} must be one of {_TRUE + _FALSE}, got {value!r}')


def tracing() -> bool:
    """Whether a ``torch.jit`` trace or an ONNX export is running."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def fast_path_enabled() -> bool:
    """Whether fast paths may run now (see the module docstring).

    Raises:
        ValueError: ``$RESTV2_FAST_PATH`` holds something other than 1/0/on/off/true/false/yes/no.
    """
    if tracing():
        return False
    return _stack[-1] if _stack else _from_env()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` (N, C, H, W) in channels-last memory where the fast paths are on (depth-wise convs
    and PixelShuffle run faster on it on the CPU), unchanged on the reference path (plain NCHW, no
    memory-format decisions for an exporter to guard on)."""
    return x.contiguous(memory_format=torch.channels_last) if fast_path_enabled() else x


@contextlib.contextmanager
def fast_path(enabled: Optional[bool] = True) -> Iterator[None]:
    """Turn the fast paths on or off inside the ``with`` block (``None``: as the environment says).

    Example::

        with restv2_mm.ops.fast_path(False):   # the plain-PyTorch reference everywhere
            outs = model(x)
    """
    _stack.append(_from_env() if enabled is None else bool(enabled))
    try:
        yield
    finally:
        _stack.pop()
