"""Training-step time and activation memory of each gradient-checkpointing policy: the rows and the
table of ``tools/analysis_tools/checkpoint_policies.py``.

Rows per model: no checkpointing (``none``, the base), ``with_cp='full'`` and ``with_cp='selective'``
(:mod:`restv2_mm.models.common.recompute`). One training step is forward +
backward of the sum of the outputs' means, fp32 on the CPU. Time: the median [min, max] of
``repeat`` interleaved rounds after ``warmup`` (all policies of a model in the same rounds, ms).
Memory: peak RSS above the model during one step after ``warmup`` steps, each row in a fresh process
(:mod:`restv2_mm.analysis.memory`, MB): the warm-up leaves out what a first step loads once
(library code, kernel caches, RMT's decay tables), which is no activation.
"""
import sys
from typing import Callable, List, Optional, Sequence

import torch

from ..models import RMT, ResTv2
from ..utils import markdown_table, record_header
from .latency import measure_interleaved
from .memory import peak_memory_mb

TOOL = 'tools/analysis_tools/checkpoint_policies.py'
# name -> (input (N, 3, H, W), backbone class, arch)
POLICY_MODELS = {
    'restv2-t': ((1, 3, 800, 1344), ResTv2, 'tiny'),
    'rmt-t': ((1, 3, 512, 512), RMT, 'tiny'),
}
POLICIES = ('none', 'full', 'selective')


def policy_step(model_name: str, policy: str) -> Callable[[], None]:
    """One training step of a row (seeded random weights, train mode), as a function.

    Raises:
        KeyError: a model outside :data:`POLICY_MODELS` or a policy outside :data:`POLICIES`.
    """
    torch.manual_seed(0)
    shape, cls, arch = POLICY_MODELS[model_name]
    with_cp = {'none': False, 'full': 'full', 'selective': 'selective'}[policy]
    model = cls(arch=arch, with_cp=with_cp)
    model.init_weights()
    model.train()
    x = torch.randn(*shape)

    def step():
        outs = model(x)
        sum(o.mean() for o in outs).backward()
        model.zero_grad(set_to_none=True)
    return step


def policy_step_memory(model_name: str, policy: str, warmup: int = 1) -> float:
    """Activation memory (MB) of one training step after ``warmup`` steps; run it in a fresh
    process (:func:`restv2_mm.analysis.memory_in_fresh_process`)."""
    step = policy_step(model_name, policy)
    for _ in range(warmup):
        step()
    return peak_memory_mb(step)


def run_policies(models: Sequence[str], policies: Sequence[str], repeat: int = 5, warmup: int = 1,
                 memory: Optional[Callable[[str, str], Optional[float]]] = None) -> List[dict]:
    """The rows of the table: per model and policy, ``model``, ``policy``, ``input``, the latency
    (``median_ms``, ``min_ms``, ``max_ms``, ``repeat``), ``train_mb`` (``memory(model, policy)``,
    e.g. :func:`policy_step_memory` in a fresh process; None without) and the ratios against
    ``none`` (``time_ratio``, ``memory_ratio``).

    Raises:
        ValueError: ``policies`` without ``'none'`` (the base of the ratios), or an unknown one.
    """
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown or 'none' not in policies:
        raise ValueError(f"policies must be among {POLICIES} and include 'none', got {list(policies)}")
    rows = []
    for model_name in models:
        print(f'== {model_name}: timing {len(policies)} policies', file=sys.stderr)
        steps = [policy_step(model_name, p) for p in policies]
        times = measure_interleaved(steps, warmup=warmup, repeat=repeat)
        del steps
        points = [dict(model=model_name, policy=policy,
                       input='x'.join(map(str, POLICY_MODELS[model_name][0])), **t,
                       train_mb=memory(model_name, policy) if memory else None)
                  for policy, t in zip(policies, times)]
        base = next(r for r in points if r['policy'] == 'none')
        for r in points:
            r['time_ratio'] = r['median_ms'] / base['median_ms']
            r['memory_ratio'] = None if r['train_mb'] is None or not base['train_mb'] \
                else r['train_mb'] / base['train_mb']
        rows += points
    return rows


def render_policies(record: dict) -> str:
    """The table of a record (``{machine, torch, env, argv, points}``, as the tool's ``--out``
    keeps it), under :func:`restv2_mm.utils.record_header`."""
    rows = [[r['model'], r['input'], r['policy'],
             f'{r["median_ms"]:.0f} [{r["min_ms"]:.0f}, {r["max_ms"]:.0f}]', f'{r["time_ratio"]:.2f}',
             '-' if r['train_mb'] is None else f'{r["train_mb"]:.0f}',
             '-' if r['memory_ratio'] is None else f'{r["memory_ratio"]:.2f}']
            for r in record['points']]
    header = ['model', 'input', 'policy', 'step ms, median [min, max]', 'time / none',
              'train act. MB', '/ none']
    return record_header(record, TOOL) + '\n' + markdown_table(header, rows)
