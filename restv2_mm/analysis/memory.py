"""Activation memory: the peak during a piece of work minus what was held before it.

On a GPU this is CUDA's max allocated bytes. On the CPU it is the process's peak resident set
(``VmHWM``, reset through ``/proc/self/clear_refs``) minus the resident set before, which counts
only while freed blocks leave the process: measure in a fresh process started with
:func:`fresh_process_env` (glibc's mmap threshold fixed at 64 KiB, no trim threshold), one
measurement per process, so that one row's leftovers never count for the next.
"""
import json
import os
import subprocess
import sys
from typing import Callable, Dict, Optional, Sequence

import torch

# glibc serves blocks >= 64 KiB by mmap and unmaps them on free: RSS then follows live tensors.
_FRESH_ENV = {'MALLOC_MMAP_THRESHOLD_': '65536'}


def fresh_process_env() -> Dict[str, str]:
    """The environment for a process that measures CPU memory (see the module docstring)."""
    env = dict(os.environ, **_FRESH_ENV)
    env.pop('MALLOC_TRIM_THRESHOLD_', None)
    return env


def malloc_settings() -> Dict[str, str]:
    """The glibc ``MALLOC_*`` variables of this process's environment, sorted by name. They change
    CPU step times (the Makefile sets them), so a benchmark's record keeps them beside its command."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith('MALLOC_')}


def memory_in_fresh_process(argv: Sequence[str], label: str, timeout: float = 1800) -> Optional[float]:
    """Run ``python ARGV`` in a fresh process (:func:`fresh_process_env`) that measures one piece of
    work and prints ``{"mb": ...}`` as its last line; that figure in MB.

    Returns:
        The MB, or None where the process failed (its stderr tail printed, naming ``label``), so
        that one failed row does not end a benchmark.
    """
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                          env=fresh_process_env(), timeout=timeout)
    if proc.returncode != 0:
        print(f'memory of {label} failed: {proc.stderr[-1500:]}', file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])['mb']


def report_memory(mb: float) -> None:
    """The worker's side of :func:`memory_in_fresh_process`: print ``{"mb": MB}`` as the last line."""
    print(json.dumps(dict(mb=mb)), flush=True)


def _status_mb(key: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'{key} not in /proc/self/status')


def peak_memory_mb(fn: Callable[[], object], device: str = 'cpu') -> float:
    """Run ``fn()`` once and return its peak memory above what was held before, in MB (2^20 B).

    Raises:
        RuntimeError: on a CPU without ``/proc/self/status`` (not Linux).
    """
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    before = _status_mb('VmRSS:')
    with open('/proc/self/clear_refs', 'w') as f:  # resets VmHWM to the current RSS
        f.write('5')
    fn()
    return _status_mb('VmHWM:') - before
