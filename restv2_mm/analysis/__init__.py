from .flops import SDPA_OP, count_params, flop_analyzer, sdpa_flop_jit
from .latency import measure_latency

__all__ = ['SDPA_OP', 'count_params', 'flop_analyzer', 'sdpa_flop_jit', 'measure_latency']
