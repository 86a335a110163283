"""Where a forward or a training step spends its CPU time, by op (torch.profiler, self CPU time):
the tables of ``tools/analysis_tools/profile_restv2.py`` and ``profile_rmt.py``.

Kinds by aten op: ``linear`` (``mm``, ``addmm``, oneDNN's fused linear), ``attention`` (``bmm``,
softmax and its backward, the fused attention kernels), ``conv`` (convolutions and their
backward), ``other`` (everything else: elementwise ops, norms, copies).
"""
import statistics
from typing import Callable, Dict, List, Mapping

import torch
from torch import nn

KINDS = ('linear', 'attention', 'conv', 'other')


def op_kind(op: str) -> str:
    """The kind of an aten op name (see the module docstring)."""
    if op in ('aten::mm', 'aten::addmm') or op.startswith('mkldnn::_linear_pointwise'):
        return 'linear'
    if op in ('aten::bmm', 'aten::_softmax', 'aten::_softmax_backward_data') or \
            'scaled_dot_product' in op:
        return 'attention'
    if 'convolution' in op:
        return 'conv'
    return 'other'


def profile_by_kind(model: nn.Module, x: torch.Tensor, train: bool) -> Dict[str, float]:
    """Self CPU ms per kind (and ``total``) of one training step (forward + backward of the sum of
    the outputs' means; gradients then dropped) or one no-grad forward of ``model(x)``."""
    model.train(train)
    with torch.profiler.profile() as prof:
        if train:
            sum(o.mean() for o in model(x)).backward()
        else:
            with torch.no_grad():
                model(x)
    model.zero_grad(set_to_none=True)
    ms = dict.fromkeys(KINDS, 0.)
    for event in prof.key_averages():
        ms[op_kind(event.key)] += event.self_cpu_time_total / 1e3
    ms['total'] = sum(ms.values())
    return ms


def compare_by_kind(models: Mapping[str, nn.Module], x: torch.Tensor, train: bool,
                    rounds: int = 3) -> Dict[str, Dict[str, float]]:
    """Per model, the median over ``rounds`` of :func:`profile_by_kind`, the models profiled in
    interleaved rounds after one warm-up each (caches, allocator, oneDNN primitives).

    Raises:
        ValueError: ``rounds`` < 1.
    """
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    for model in models.values():
        profile_by_kind(model, x, train)
    runs: Dict[str, List[dict]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            runs[name].append(profile_by_kind(model, x, train))
    return {name: {k: statistics.median(r[k] for r in rs) for k in KINDS + ('total', )}
            for name, rs in runs.items()}


def render_by_kind(medians: Mapping[str, Mapping[str, float]]) -> str:
    """A text table of :func:`compare_by_kind`: a line per model, ms and share of its total per kind."""
    lines = [f'{"":10s}' + ''.join(f'{k:>18s}' for k in KINDS + ('total', ))]
    for name, med in medians.items():
        lines.append(f'{name:10s}' + ''.join(f'{med[k]:10.1f} ({med[k] / med["total"]:4.0%})'
                                             for k in KINDS) + f'{med["total"]:18.1f}')
    return '\n'.join(lines) + '\n'


def top_ops(fn: Callable[[], object], row_limit: int = 15) -> str:
    """torch.profiler's table of one call of ``fn`` (after one untimed call), by self CPU time."""
    fn()
    with torch.profiler.profile() as prof:
        fn()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=row_limit)
