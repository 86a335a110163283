"""FLOPs counting with mmengine's FlopAnalyzer, plus the handle for fused attention.

FLOPs here are multiply-adds, as in the ResTv2 paper's tables and fvcore/mmengine.
"""
from math import prod
from typing import Any, Dict, List, Mapping

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape

SDPA_OP = 'aten::scaled_dot_product_attention'

# The four groups of the paper's Table 3(b), keyed by FlopAnalyzer's operator names.
GROUPS = ('Conv', 'Linear', 'Matmul', 'Others')
_GROUP_OF = {
    'conv': 'Conv', '_convolution': 'Conv', 'convolution': 'Conv',
    'linear': 'Linear', 'addmm': 'Linear',
    'matmul': 'Matmul', 'bmm': 'Matmul', 'mm': 'Matmul', 'einsum': 'Matmul',
    'scaled_dot_product_attention': 'Matmul',
}


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Multiply-adds of ``scaled_dot_product_attention(q, k, v)``: QK^T plus AV.

    With q (..., L, E), k (..., S, E) and v (..., S, Ev): ``prod(...) * L * S * (E + Ev)``, the
    same count the explicit ``q @ k.transpose(-2, -1)`` and ``attn @ v`` matmuls of the official
    code get. Softmax and scaling are not counted (elementwise, as for the matmul path).
    """
    q, k, v = (get_shape(x) for x in inputs[:3])
    return prod(q[:-2]) * q[-2] * k[-2] * (q[-1] + v[-1])


def flop_analyzer(model: torch.nn.Module, inputs: Any) -> FlopAnalyzer:
    """An mmengine ``FlopAnalyzer`` for ``model(*inputs)`` that also counts SDPA.

    Args:
        model: The module to trace (put it in eval mode first for inference FLOPs).
        inputs: A tensor or tuple of positional inputs.

    Returns:
        FlopAnalyzer: call ``.total()`` for multiply-adds, ``.by_operator()`` per op.
    """
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs, )
    analyzer = FlopAnalyzer(model, inputs).set_op_handle(SDPA_OP, sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer


def count_params(model: torch.nn.Module) -> int:
    """Number of parameters of ``model`` (all, trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def group_flops(by_operator: Mapping[str, int]) -> Dict[str, int]:
    """Sum per-operator multiply-adds into the paper's groups (Table 3(b)).

    Conv: convolutions. Linear: ``linear``/``addmm``. Matmul: ``matmul``/``bmm``/``mm``/``einsum``
    and fused attention. Others: everything else that was counted (norms, pooling, upsampling).

    Returns:
        dict: multiply-adds per group in :data:`GROUPS` order; they add up to the total.
    """
    groups = dict.fromkeys(GROUPS, 0)
    for op, flops in by_operator.items():
        groups[_GROUP_OF.get(op.split('::')[-1], 'Others')] += flops
    return groups


def analyze_flops(model: torch.nn.Module, inputs: Any) -> Dict[str, Any]:
    """Multiply-adds of one forward, in total, per group and per operator.

    Args:
        model: Module to trace; ``model(*inputs)`` must return tensors (or tuples of them).
        inputs: A tensor or tuple of positional inputs.

    Returns:
        dict: ``total`` (int), ``groups`` (see :func:`group_flops`), ``by_operator``,
        ``by_module`` (module name -> multiply-adds, '' for the whole model) and ``uncounted``
        (op name -> number of calls that have no FLOPs handle, e.g. elementwise ops, NMS), so
        that nothing disappears silently.
    """
    analyzer = flop_analyzer(model, inputs)
    by_operator = dict(analyzer.by_operator())
    return dict(total=analyzer.total(), groups=group_flops(by_operator), by_operator=by_operator,
                by_module=dict(analyzer.by_module()), uncounted=dict(analyzer.unsupported_ops()))
