"""Latency measurement: median, min and max over repeated runs after warm-up."""
import statistics
import time
from typing import Callable, Dict

import torch


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
    if repeat < 1 or warmup < 0:
        raise ValueError(f'repeat must be >= 1 and warmup >= 0, got repeat={repeat}, '
                         f'warmup={warmup}')
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return dict(median_ms=statistics.median(times), min_ms=min(times), max_ms=max(times),
                repeat=repeat)
