"""The rows of ``tools/analyze_flops.py``: multiply-adds per operator group averaged over inputs,
latency side by side, and their table, files and picture."""
import csv
import io
import os.path as osp
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from ..utils import atomic_write, markdown_table, write_json
from .flops import GROUPS, analyze_flops
from .latency import measure_interleaved
from .plotting import pyplot, save_png


def average_flops(forwards: Iterable[Tuple[torch.nn.Module, torch.Tensor]],
                  progress: Optional[Callable[[], None]] = None) -> Dict[str, Any]:
    """GFLOPs (multiply-adds / 1e9, 3 decimals) of a model averaged over several inputs.

    Args:
        forwards: (module, inputs) per input: ``module(inputs)`` is traced by
            :func:`analyze_flops` (e.g. ``TensorForward(model, scope, data_samples)``).
        progress: Called after each input (a progress bar).

    Returns:
        dict: ``GFLOPs``, ``backbone_GFLOPs`` (the module named ``model.backbone``), one entry per
        group of :data:`GROUPS`, and ``uncounted_ops`` (space-separated op names without a FLOPs
        handle).

    Raises:
        ValueError: no input.
    """
    totals = dict.fromkeys(('total', 'backbone') + GROUPS, 0.)
    uncounted, n = set(), 0
    for module, inputs in forwards:
        result = analyze_flops(module, inputs)
        totals['total'] += result['total']
        totals['backbone'] += result['by_module'].get('model.backbone', 0)
        for g in GROUPS:
            totals[g] += result['groups'][g]
        uncounted.update(result['uncounted'])
        n += 1
        if progress:
            progress()
    if not n:
        raise ValueError('average_flops needs at least one input')
    row = dict(GFLOPs=round(totals['total'] / n / 1e9, 3),
               backbone_GFLOPs=round(totals['backbone'] / n / 1e9, 3))
    row.update({g: round(totals[g] / n / 1e9, 3) for g in GROUPS})
    row['uncounted_ops'] = ' '.join(sorted(uncounted))
    return row


def add_latency(rows: List[dict], forwards: Sequence[Callable[[], object]],
                batches: Sequence[Optional[int]], repeat: int = 5, device: str = 'cpu') -> None:
    """Add ``ms_median``, ``ms_min``, ``ms_max`` (forward latency, ms, interleaved rounds of
    :func:`measure_interleaved` after one warm-up) to each row, and ``images_per_s`` (batch /
    median) where its batch is given (classifiers)."""
    with torch.no_grad():
        stats = measure_interleaved(list(forwards), warmup=1, repeat=repeat, device=device)
    for row, lat, batch in zip(rows, stats, batches):
        row.update(ms_median=round(lat['median_ms'], 1), ms_min=round(lat['min_ms'], 1),
                   ms_max=round(lat['max_ms'], 1))
        if batch:
            row['images_per_s'] = round(batch / lat['median_ms'] * 1e3, 1)


def flops_rows_table(rows: List[dict]) -> str:
    """The rows as a markdown table (every column but ``uncounted_ops``), ending in a newline."""
    keys = [k for k in rows[0] if k != 'uncounted_ops']
    return markdown_table(keys, [[r.get(k, '') for k in keys] for r in rows])


def write_flops_rows(rows: List[dict], path: str) -> None:
    """Write the rows to ``path``: ``.json`` (the record), ``.csv`` or ``.md`` (the table), atomically.

    Raises:
        ValueError: another extension.
    """
    ext = osp.splitext(path)[1]
    if ext == '.json':
        return write_json(path, rows)
    if ext == '.csv':
        buffer = io.StringIO(newline='')
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return atomic_write(path, buffer.getvalue())
    if ext == '.md':
        return atomic_write(path, flops_rows_table(rows))
    raise ValueError(f'--out must end in .json, .csv or .md, got {path!r}')


def plot_flops_rows(rows: List[dict], path: str) -> None:
    """A PNG of the rows: stacked GFLOPs groups per row, and latency (median, bars min..max)
    beside them where the rows have it."""
    plt = pyplot()
    same_config = len({r['config'] for r in rows}) == 1
    labels = [r['style'] if same_config else f"{r['config'].replace('.py', '')}\n{r['style']}"
              for r in rows]
    with_latency = 'ms_median' in rows[0]
    fig, axes = plt.subplots(1, 2 if with_latency else 1, figsize=(6 + 2 * len(rows), 4.5),
                             squeeze=False)
    ax = axes[0][0]
    bottom = [0.] * len(rows)
    for g in GROUPS:
        values = [r[g] for r in rows]
        ax.bar(labels, values, bottom=bottom, label=g)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel('GFLOPs (multiply-adds)')
    ax.set_title(f"GFLOPs by operator group ({rows[0]['input']})"
                 + (f"\n{rows[0]['config']}" if same_config else ''))
    ax.legend()
    if with_latency:
        ax = axes[0][1]
        med = [r['ms_median'] for r in rows]
        err = [[m - r['ms_min'] for m, r in zip(med, rows)], [r['ms_max'] - m for m, r in zip(med, rows)]]
        ax.bar(labels, med, yerr=err, color='gray', capsize=4)
        ax.set_ylabel('latency (ms, median; bars min..max)')
        ax.set_title('forward latency')
    for a in axes[0]:
        a.tick_params(axis='x', labelsize=8, labelrotation=0 if same_config else 20)
    fig.tight_layout()
    save_png(fig, path)
