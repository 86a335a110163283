"""A restricted unpickler: torch's ``weights_only`` allow-list for torch versions without
``torch.serialization.add_safe_globals`` (torch < 2.4).

Passed as ``torch.load(..., pickle_module=restricted_pickle)`` (this module: torch uses its
:class:`Unpickler` and :func:`load`), it builds only what torch's own ``weights_only`` loader
builds (tensors, storages, dtypes, ``OrderedDict``, the tensor rebuild functions: torch's
``_weights_only_unpickler._get_allowed_globals()`` of the installed torch) plus
:data:`~restv2_mm.utils.safe_globals.SAFE_GLOBALS`. Every other global is refused in
:meth:`Unpickler.find_class`, the one place a pickle obtains a callable, so a checkpoint cannot
call ``os.system`` or import anything.
"""
import _codecs
import _compat_pickle
import pickle
from typing import Any, Dict

import torch

from .safe_globals import SAFE_GLOBALS

UnpicklingError = pickle.UnpicklingError


def _encode_latin1(text: str, encoding: str = 'latin1', errors: str = 'strict') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for ``bytes`` (numpy array data), for the
    Latin-1 codec only (other codecs decompress, decode base64, ...)."""
    if encoding.replace('-', '').replace('_', '').lower() not in ('latin1', 'iso88591'):
        raise UnpicklingError(f'_codecs.encode with encoding {encoding!r} is not allowed '
                              '(only latin1, which pickles of bytes use)')
    return _codecs.encode(text, encoding, errors)


def _torch_allowed() -> Dict[str, Any]:
    """What torch's own weights_only unpickler builds, by 'module.name'."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals
        allowed = dict(_get_allowed_globals())
    except (ImportError, AttributeError):  # private API: the minimum a state dict needs
        allowed = {'collections.OrderedDict': __import__('collections').OrderedDict,
                   'torch._utils._rebuild_tensor_v2': torch._utils._rebuild_tensor_v2,
                   'torch._utils._rebuild_parameter': torch._utils._rebuild_parameter}
    allowed.update({'builtins.set': set, 'builtins.complex': complex,
                    'builtins.bytearray': bytearray, 'torch.device': torch.device,
                    '_codecs.encode': _encode_latin1})
    return allowed


def allowed_globals() -> Dict[str, Any]:
    """'module.name' -> object: torch's weights_only list and :data:`SAFE_GLOBALS` (a
    ``(callable, 'module.name')`` entry stands in for that name)."""
    allowed = _torch_allowed()
    for entry, _ in SAFE_GLOBALS:
        if isinstance(entry, tuple):
            obj, name = entry
        else:
            obj, name = entry, f'{entry.__module__}.{entry.__qualname__}'
        allowed[name] = obj
    return allowed


class Unpickler(pickle.Unpickler):
    """:class:`pickle.Unpickler` whose :meth:`find_class` returns only :func:`allowed_globals`.

    Raises:
        pickle.UnpicklingError: on loading, for any other global: ``'Unsupported global: GLOBAL
            module.name ...'`` (torch's wording, so callers report it the same way).
    """

    _allowed: Dict[str, Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        # Protocol-2 pickles (torch.save's default) name Python 2 modules (__builtin__.set):
        # mapped as pickle.Unpickler.find_class maps them, before the lookup.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        if not Unpickler._allowed:
            Unpickler._allowed = allowed_globals()
        obj = Unpickler._allowed.get(f'{module}.{name}')
        if obj is None:
            raise UnpicklingError(
                f'Unsupported global: GLOBAL {module}.{name} was not an allowed global by default '
                '(restv2_mm restricted unpickler: torch weights_only globals and '
                'restv2_mm.utils.safe_globals.SAFE_GLOBALS)')
        return obj


def load(file, **kwargs) -> Any:
    """``pickle.load`` through :class:`Unpickler` (torch reads legacy-format headers with it)."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs) -> Any:
    """``pickle.loads`` through :class:`Unpickler`."""
    import io
    return Unpickler(io.BytesIO(data), **kwargs).load()
