"""What differs between the supported torch versions (2.1 to the pinned 2.14), decided at the point
of use so that ``import restv2_mm`` works on all of them.

A feature that needs a newer torch raises a :class:`RuntimeError` naming the feature and the
version when it is asked for (:func:`require`); the rest of the package runs unchanged.
"""
import inspect
from typing import Tuple

import torch

# The oldest torch the package imports and runs its models on (requirements/compat.txt).
MIN_TORCH = '2.1'


def torch_version() -> Tuple[int, int]:
    """(major, minor) of the installed torch, e.g. (2, 1) for '2.1.2+cu121'."""
    major, minor = torch.__version__.split('+')[0].split('.')[:2]
    return int(major), int(''.join(c for c in minor if c.isdigit()) or 0)


def is_compiling() -> bool:
    """Whether dynamo/``torch.compile``/``torch.export`` is tracing the current code:
    ``torch.compiler.is_compiling`` (torch >= 2.3), else ``torch._dynamo.is_compiling``."""
    compiler = getattr(torch, 'compiler', None)
    if compiler is not None and hasattr(compiler, 'is_compiling'):
        return compiler.is_compiling()
    from torch import _dynamo
    return _dynamo.is_compiling()


def has_safe_globals() -> bool:
    """Whether torch's ``weights_only`` loader takes an allow-list
    (``torch.serialization.add_safe_globals``, torch >= 2.4)."""
    return hasattr(torch.serialization, 'add_safe_globals')


def default_weights_only() -> bool:
    """Whether a plain ``torch.load(f)`` is safe (``weights_only=True`` by default: torch >= 2.6)."""
    return torch_version() >= (2, 6)


def has_dynamo_onnx_export() -> bool:
    """Whether ``torch.onnx.export`` takes an ExportedProgram with ``dynamo=True`` and
    ``torch.export`` has size-oblivious shapes (``torch.fx.experimental._config
    .backed_size_oblivious``): what ``tools/deployment/pytorch2onnx.py`` uses."""
    try:
        import torch.fx.experimental._config as fx_config
    except ImportError:
        return False
    return hasattr(fx_config, 'backed_size_oblivious') and \
        'dynamo' in inspect.signature(torch.onnx.export).parameters and hasattr(torch, 'export')


def require(available: bool, feature: str, needs: str) -> None:
    """Raise where ``feature`` is not ``available`` on this torch.

    Args:
        available: Whether this torch has it.
        feature: What the user asked for, as they asked (an argument, a flag).
        needs: The torch version or API it needs, e.g. ``'torch >= 2.4'``.

    Raises:
        RuntimeError: ``'{feature} needs {needs}; this is torch X'``.
    """
    if not available:
        raise RuntimeError(f'{feature} needs {needs}; this is torch {torch.__version__}')


def cpu_sdpa_takes_float_mask() -> bool:
    """Whether torch's CPU flash attention (``_scaled_dot_product_flash_attention_for_cpu``) takes
    an additive float ``attn_mask`` (torch >= 2.3); older CPU kernels fall back to the math
    implementation, which materialises the attention matrix and is slower than explicit matmuls."""
    return torch_version() >= (2, 3)


def autocast_state(device_type: str) -> Tuple[bool, torch.dtype]:
    """(enabled, dtype) of autocast on ``device_type`` ('cpu', 'cuda') now:
    ``torch.is_autocast_enabled(device_type)`` (torch >= 2.4), else the per-device functions."""
    try:
        return torch.is_autocast_enabled(device_type), torch.get_autocast_dtype(device_type)
    except (TypeError, AttributeError):
        pass
    if device_type == 'cpu':
        return torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
    return torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()
