"""Models timed side by side, with their activation memory: the runner and the table of
``tools/analysis_tools/benchmark.py``.

A benchmark is a list of rows, plain dicts (so that a fresh process can rebuild one from JSON)
with at least ``group``, ``name`` and optionally ``base`` (the row its group's ratios are against),
``impl`` (``'ours'``, or ``'eager'`` / ``'official'`` for a reference whose outputs ours are
compared with) and ``train`` (time a training step, not a forward). A ``build`` function turns a
row into ``(module, fn, x)``, ``fn(module, x)`` being its forward; which rows exist is the
caller's (:mod:`restv2_mm.apis.benchmark` for the tool).

Latency is the median of ``repeat`` forwards (training steps for ``train`` rows) after ``warmup``,
with min and max, in ms (:func:`restv2_mm.analysis.measure_interleaved`: all rows of a group in
the same rounds); forwards run under ``torch.no_grad``. Activation memory is the peak during one
forward (``infer``) or one forward + backward of the sum of the outputs' means (``train``) minus
what was held before it (:mod:`restv2_mm.analysis.memory`), in MB.
"""
import contextlib
import functools
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from ..utils import markdown_table, record_header
from .latency import measure_interleaved
from .memory import peak_memory_mb

TOOL = 'tools/analysis_tools/benchmark.py'
AUTOCAST_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
REFERENCES = ('eager', 'official')
Built = Tuple[nn.Module, Callable, torch.Tensor]


def train_step(model: nn.Module, fn: Callable, x: torch.Tensor, autocast=None) -> None:
    """One forward + backward of the sum of the outputs' means (gradients then dropped).

    Args:
        fn: ``fn(model, x)``: the forward, a tuple of tensors.
        autocast: A context manager factory for the forward (mixed precision), or None.
    """
    model.train()
    with autocast() if autocast else contextlib.nullcontext():
        outs = fn(model, x)
    sum(o.float().mean() for o in outs).backward()
    model.zero_grad(set_to_none=True)


def activation_memory(model: nn.Module, fn: Callable, x: torch.Tensor, mode: str,
                      device: str = 'cpu') -> float:
    """Peak minus held memory (MB) of one no-grad forward (``mode='infer'``) or one
    :func:`train_step` (``'train'``); measure it in a fresh process on the CPU
    (:func:`restv2_mm.analysis.memory_in_fresh_process`).

    Raises:
        ValueError: another ``mode``.
    """
    if mode == 'train':
        return peak_memory_mb(lambda: train_step(model, fn, x), device)
    if mode != 'infer':
        raise ValueError(f"mode must be 'infer' or 'train', got {mode!r}")
    model.eval()
    with torch.no_grad():
        return peak_memory_mb(lambda: fn(model, x), device)


class _Variant(NamedTuple):
    row: dict
    dtype: str
    compiled: bool
    model: nn.Module
    fn: Callable
    x: torch.Tensor

    def call(self, device: str) -> Callable[[], object]:
        autocast = functools.partial(torch.autocast, device, dtype=AUTOCAST_DTYPES[self.dtype],
                                     enabled=self.dtype != 'fp32')
        if self.row.get('train'):
            return functools.partial(train_step, self.model, self.fn, self.x, autocast)

        def forward():
            with torch.no_grad(), autocast():
                return self.fn(self.model, self.x)
        return forward

    def forward(self):
        with torch.no_grad():
            return self.fn(self.model, self.x)


def _variants(members: Sequence[dict], build: Callable[[dict], Built], dtypes: Sequence[str],
              compile: bool, channels_last: bool) -> List[_Variant]:
    variants = []
    for row in members:
        model, fn, x = build(row)
        if channels_last:
            model, x = model.to(memory_format=torch.channels_last), \
                x.contiguous(memory_format=torch.channels_last)
        for dtype in dtypes:
            variants.append(_Variant(row, dtype, False, model, fn, x))
            if compile and row.get('impl') == 'ours':
                variants.append(_Variant(row, dtype, True, torch.compile(model), fn, x))
    return variants


def _max_abs_diff(variants: Sequence[_Variant]) -> Optional[float]:
    """The largest difference between the outputs of ours and of the group's reference (fp32)."""
    ref = next((v for v in variants if v.row.get('impl') in REFERENCES and v.dtype == 'fp32'
                and not v.row.get('train')), None)
    if ref is None:
        return None
    ours = next(v for v in variants if v.row['impl'] == 'ours' and v.dtype == 'fp32')
    return max((a - b).abs().max().item() for a, b in zip(ours.forward(), ref.forward()))


def run_benchmark(rows: Sequence[dict], build: Callable[[dict], Built], *, device: str = 'cpu',
                  dtypes: Sequence[str] = ('fp32', ), repeat: int = 5, warmup: int = 1,
                  compile: bool = False, channels_last: bool = False,
                  memory: Optional[Callable[[dict], Dict[str, Optional[float]]]] = None
                  ) -> List[dict]:
    """Time ``rows`` group by group (each group in interleaved rounds), in every autocast dtype,
    and measure their memory.

    Args:
        rows: The rows (see the module docstring), in the order of the table.
        build: ``build(row) -> (module, fn, x)`` with random weights.
        dtypes: Autocast dtypes among ``AUTOCAST_DTYPES`` (``bf16``/``fp16`` for CUDA).
        compile: Also time ``torch.compile`` of each ``impl='ours'`` row.
        channels_last: Run every row with a channels-last module and input.
        memory: ``memory(row) -> {'infer_mb': MB, ...}`` for each fp32, uncompiled row, called once
            a group is timed and its models dropped (so a fresh process can measure), or None.

    Returns:
        One dict per row and dtype (and compiled variant): ``group``, ``name``, ``dtype``,
        ``base``, ``shape`` ('NxCxHxW'), ``median_ms``, ``min_ms``, ``max_ms``, ``repeat``,
        ``max_abs_diff`` (ours against the group's reference, or None), ``row`` and the
        ``memory`` entries.

    Raises:
        ValueError: ``repeat`` < 1 or ``warmup`` < 0; a dtype outside ``AUTOCAST_DTYPES``.
    """
    unknown = sorted(set(dtypes) - set(AUTOCAST_DTYPES))
    if unknown:
        raise ValueError(f'dtypes must be among {sorted(AUTOCAST_DTYPES)}, got {unknown}')
    results = []
    for group in dict.fromkeys(r['group'] for r in rows):
        variants = _variants([r for r in rows if r['group'] == group], build, dtypes, compile,
                             channels_last)
        print(f'== {group}: timing {len(variants)} rows ({repeat} rounds)', file=sys.stderr)
        times = measure_interleaved([v.call(device) for v in variants], warmup=warmup,
                                    repeat=repeat, device=device)
        diff = _max_abs_diff(variants)
        timed = [dict(group=group, name=v.row['name'] + (' +compile' if v.compiled else ''),
                      dtype=v.dtype, base=v.row.get('base', False) and v.dtype == 'fp32'
                      and not v.compiled, shape='x'.join(map(str, v.x.shape)), **t,
                      max_abs_diff=diff, row=v.row) for v, t in zip(variants, times)]
        del variants
        if memory is not None:
            for res in timed:
                if res['dtype'] == 'fp32' and not res['name'].endswith(' +compile'):
                    res.update(memory(res['row']))
        results += timed
    return results


def _ratio(a, b) -> str:
    return f'{a / b:.2f}' if a is not None and b else '-'


def _mb(value) -> str:
    return '-' if value is None else f'{value:.0f}'


def render_benchmark(record: dict) -> str:
    """The page of a benchmark record (``{machine, torch, env, argv, rows}``, as the tool's
    ``--out FILE.json`` keeps it): :func:`restv2_mm.utils.record_header`, then one table row per
    result with its ratios against its group's base (time, speed-up, memory)."""
    header = ['group', 'row', 'dtype', 'input', 'median ms [min, max]', 'time / base',
              'speed-up vs base', 'infer act. MB', '/ base', 'train act. MB', '/ base',
              'max abs diff']
    lines = []
    results = record['rows']
    for group in dict.fromkeys(r['group'] for r in results):
        members = [r for r in results if r['group'] == group]
        base = next((r for r in members if r['base']), members[0])
        for r in members:
            ms = '-' if r['median_ms'] is None else \
                f'{r["median_ms"]:.1f} [{r["min_ms"]:.1f}, {r["max_ms"]:.1f}]'
            infer, train, diff = r.get('infer_mb'), r.get('train_mb'), r.get('max_abs_diff')
            lines.append([
                group, r['name'] + (' (base)' if r is base else ''), r['dtype'], r['shape'], ms,
                _ratio(r['median_ms'], base['median_ms']), _ratio(base['median_ms'], r['median_ms']),
                _mb(infer), _ratio(infer, base.get('infer_mb')), _mb(train),
                _ratio(train, base.get('train_mb')),
                '-' if diff is None or r['name'] != 'ours' else f'{diff:.1e}'])
    return record_header(record, TOOL) + '\n' + markdown_table(header, lines)
