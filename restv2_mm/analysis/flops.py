"""FLOPs counting with mmengine's FlopAnalyzer, plus the handle for fused attention.

FLOPs here are multiply-adds, as in the ResTv2 paper's tables and fvcore/mmengine.
"""
from math import prod
from typing import Any, List

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.analysis.jit_handles import get_shape

SDPA_OP = 'aten::scaled_dot_product_attention'


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
