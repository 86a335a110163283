"""How a backbone's multiply-adds grow with the input size (PVTv2 paper, Figure 4: linear SRA
against SRA, ResNet-50 and ViT): GFLOPs of one (1, 3, S, S) image per size S, and the picture."""
import gc
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..utils import markdown_table
from .flops import analyze_flops, count_params
from .flops_report import flops_rows_table, plot_flops_rows
from .plotting import pyplot, save_png


def check_sizes(sizes: Sequence[int]) -> List[int]:
    """The sizes as ints, checked.

    Raises:
        ValueError: empty, not increasing, or a size < 32 (the stride of every backbone here).
    """
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 32 for s in sizes) or sorted(set(sizes)) != sizes:
        raise ValueError(f'--sizes must be increasing input sides >= 32 pixels, got {sizes}')
    return sizes


def flops_by_size(model: nn.Module, sizes: Sequence[int],
                  progress: Optional[Callable[[], None]] = None) -> List[float]:
    """GFLOPs (multiply-adds / 1e9, 3 decimals) of ``model`` on one random (1, 3, S, S) image
    for each S in ``sizes``, counted by :func:`analyze_flops` (mmengine's FlopAnalyzer, SDPA as
    QK^T + AV).

    Raises:
        ValueError: see :func:`check_sizes`.
    """
    out = []
    model.eval()
    for size in check_sizes(sizes):
        out.append(round(analyze_flops(model, torch.randn(1, 3, size, size))['total'] / 1e9, 3))
        if progress:
            progress()
    return out


def flops_growth_record(models: Iterable[Tuple[str, str, Optional[str], Callable[[], nn.Module]]],
                        sizes: Sequence[int], command: str = '',
                        progress: Optional[Callable[[], None]] = None) -> Dict:
    """The record of :func:`flops_by_size` for several backbones.

    Args:
        models: (label, config, style or None, build) per row, ``build()`` returning the backbone.
            It is called once per size, so that no more than one model and one trace are alive
            (the quadratic attention maps of a 1024 x 1024 input take gigabytes, and a model
            keeps per-size caches such as RMT's decay masks).
        sizes: Input sides S (see :func:`check_sizes`).
        command: The command line that made the record.
        progress: Called after each (backbone, size).

    Returns:
        dict: ``command``, ``sizes`` and ``rows``, each with ``label`` (with the style in
        parentheses), ``config``, ``style``, ``params_M`` and ``GFLOPs`` (one per size).
    """
    sizes = check_sizes(sizes)
    rows = []
    for label, config, style, build in models:
        gflops = [flops_by_size(build(), [size], progress)[0] for size in sizes]
        rows.append(dict(label=label + (f' ({style})' if style else ''), config=config, style=style or '-',
                         params_M=round(count_params(build()) / 1e6, 3), GFLOPs=gflops))
        gc.collect()
    return dict(command=command, sizes=sizes, rows=rows)


def render_flops_record(record) -> str:
    """The table of either record of ``tools/analyze_flops.py``: a list of rows
    (:func:`restv2_mm.analysis.flops_rows_table`) or a by-size record (:func:`render_flops_by_size`)."""
    return render_flops_by_size(record) if isinstance(record, dict) else flops_rows_table(record)


def plot_flops_record(record, path: str) -> None:
    """The picture of either record of ``tools/analyze_flops.py``: GFLOPs groups per row
    (:func:`restv2_mm.analysis.plot_flops_rows`) or against input size (:func:`plot_flops_by_size`)."""
    (plot_flops_by_size if isinstance(record, dict) else plot_flops_rows)(record, path)


def render_flops_by_size(record: Dict) -> str:
    """The record's table: one row per model, GFLOPs per input size; a markdown table ending in
    a newline."""
    header = ['model', 'params_M'] + [f'{s}x{s}' for s in record['sizes']]
    rows = [[r['label'], r['params_M']] + r['GFLOPs'] for r in record['rows']]
    return markdown_table(header, rows)


def plot_flops_by_size(record: Dict, path: str, title: str = '') -> None:
    """PVTv2's Figure 4: GFLOPs against the input side, one line per row (a colour per config, a
    dash per style), as a PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    configs = list(dict.fromkeys(r['config'] for r in record['rows']))
    styles = list(dict.fromkeys(r['style'] for r in record['rows'] if r['style'] != '-'))
    for row in record['rows']:  # one colour per config, one dash per fine-tuning style
        dash = '-' if row['style'] == '-' else ('-', '--', '-.', ':')[styles.index(row['style']) % 4]
        ax.plot(record['sizes'], row['GFLOPs'], dash, marker='o', ms=3, label=row['label'],
                color=f"C{configs.index(row['config']) % 10}")
    ax.set_xlabel('input size (S x S pixels)')
    ax.set_ylabel('GFLOPs (multiply-adds), backbone')
    ax.set_xticks(record['sizes'])
    ax.tick_params(axis='x', labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or 'GFLOPs against input size', fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
