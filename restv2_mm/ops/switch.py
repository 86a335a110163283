"""The one switch between the fast paths of :mod:`restv2_mm.ops` and their plain-PyTorch references.

Fast paths are on by default. They are off:

- inside ``with fast_path(False):`` (the innermost ``with`` wins);
- where the environment variable ``RESTV2_FAST_PATH`` is ``0`` (``off``/``false``), read at each
  call, so that a whole tool run can be switched from the shell;
- while ``torch.jit`` traces or ``torch.onnx`` exports, so that traces (FLOP counting, export) keep
  portable aten ops.

The ``with`` block sets a context variable: it holds in its own thread (and asyncio task) only, so
two threads can run a model each way at the same time. A new thread starts from the environment.

A test override, :func:`choose_as`, makes the conditions that depend on the device decide as on
another device type (the path a GPU takes, run by the CPU's kernels); the tensors stay where they
are.
"""
import contextlib
import contextvars
import os
from typing import Iterator, Optional

import torch

FAST_PATH_ENV = 'RESTV2_FAST_PATH'
_TRUE, _FALSE = ('1', 'on', 'true', 'yes'), ('0', 'off', 'false', 'no')
# None: as the environment says; True/False: set by the innermost ``fast_path`` block.
_SETTING: contextvars.ContextVar[Optional[bool]] = contextvars.ContextVar('restv2_fast_path',
                                                                          default=None)
# None: each tensor's own device type; else the one the innermost ``choose_as`` block names.
_DEVICE: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar('restv2_fast_path_device',
                                                                        default=None)


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
    setting = _SETTING.get()
    return _from_env() if setting is None else setting


@contextlib.contextmanager
def fast_path(enabled: Optional[bool] = True) -> Iterator[None]:
    """Turn the fast paths on or off inside the ``with`` block, in this thread (``None``: as the
    environment says when the block starts).

    Example::

        with restv2_mm.ops.fast_path(False):   # the plain-PyTorch reference everywhere
            outs = model(x)
    """
    token = _SETTING.set(_from_env() if enabled is None else bool(enabled))
    try:
        yield
    finally:
        _SETTING.reset(token)


def path_device(t: torch.Tensor) -> str:
    """The device type the fast paths' conditions decide for: ``t.device.type``, or the one
    :func:`choose_as` names."""
    device = _DEVICE.get()
    return t.device.type if device is None else device


@contextlib.contextmanager
def choose_as(device_type: str) -> Iterator[None]:
    """Test override: inside the block, the conditions that depend on the device choose as on
    ``device_type`` (e.g. ``'cuda'``), in this thread, while the tensors stay on their device;
    only paths whose kernels also run there are then run. Lets the CPU test the path a GPU takes
    (its op counts, its backend choice).

    Raises:
        ValueError: ``device_type`` is not 'cpu' or 'cuda'.
    """
    if device_type not in ('cpu', 'cuda'):
        raise ValueError(f"device_type must be 'cpu' or 'cuda', got {device_type!r}")
    token = _DEVICE.set(device_type)
    try:
        yield
    finally:
        _DEVICE.reset(token)
