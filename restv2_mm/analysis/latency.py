"""Latency measurement: median, min and max over repeated runs after warm-up."""
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence

import torch

from .memory import malloc_settings


def measure_latency(fn: Callable[[], object], warmup: int = 1, repeat: int = 5,
                    device: str = 'cpu') -> Dict[str, float]:
    """Time ``fn()`` in milliseconds.

    Args:
        fn: The work to time (for example ``lambda: model(x)`` under ``torch.no_grad()``).
        warmup: Untimed calls first (allocator, caches, lazy init).
        repeat: Timed calls.
        device: ``'cuda'`` synchronizes before and after each call so that GPU work is counted.

    Returns:
        dict: ``median_ms``, ``min_ms``, ``max_ms`` and ``repeat``.

    Raises:
        ValueError: ``repeat`` < 1 or ``warmup`` < 0.
    """
    return measure_interleaved([fn], warmup=warmup, repeat=repeat, device=device)[0]


def measure_interleaved(fns: Sequence[Callable[[], object]], warmup: int = 1, repeat: int = 5,
                        device: str = 'cpu') -> List[Dict[str, float]]:
    """Time several ``fn()`` side by side, in milliseconds, in interleaved rounds.

    Each round runs every function once (fn 1, fn 2, ..., then again), so a slow spell of a noisy
    machine hits every row alike and the ratios between rows hold.

    Returns:
        list of dicts as :func:`measure_latency`, one per function, in order.

    Raises:
        ValueError: ``repeat`` < 1 or ``warmup`` < 0.
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(f'repeat must be >= 1 and warmup >= 0, got repeat={repeat}, '
                         f'warmup={warmup}')
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, t in zip(fns, times):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            t.append((time.perf_counter() - start) * 1e3)
    return [dict(median_ms=statistics.median(t), min_ms=min(t), max_ms=max(t), repeat=repeat)
            for t in times]


def machine_name(device: str = 'cpu') -> str:
    """What a timing ran on, for the header of a table: the GPU's name for ``'cuda'``, else the
    CPU model (``/proc/cpuinfo``), the vector instructions torch's kernels use on it and torch's
    thread count, e.g. ``'AMD EPYC 7B13, AVX2, 2 threads'`` (kernels differ between AVX2 and
    AVX-512 CPUs, so ratios measured on one need not hold on the other)."""
    if device == 'cuda':
        return torch.cuda.get_device_name()
    name = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            name = next(ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name'))
    except (OSError, StopIteration):
        pass
    capability = getattr(torch.backends.cpu, 'get_cpu_capability', None)  # torch >= 2.2
    if capability is not None:
        name = f'{name}, {capability()}'
    return f'{name}, {torch.get_num_threads()} threads'


def measurement_context(device: str = 'cpu') -> Dict[str, Any]:
    """What a measured record keeps about where it was measured, in this order: ``machine``
    (:func:`machine_name`), ``torch`` (the version) and ``env`` (the ``MALLOC_*`` settings,
    :func:`restv2_mm.analysis.malloc_settings`). The tools add their command (``argv``) and their
    rows; :func:`restv2_mm.utils.record_header` renders the first three."""
    return dict(machine=machine_name(device), torch=torch.__version__, env=malloc_settings())
