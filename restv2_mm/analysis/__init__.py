from .flops import (GROUPS, SDPA_OP, analyze_flops, count_params, flop_analyzer, group_flops,
                    sdpa_flop_jit)
from .latency import measure_interleaved, measure_latency

__all__ = ['GROUPS', 'SDPA_OP', 'analyze_flops', 'count_params', 'flop_analyzer', 'group_flops',
           'sdpa_flop_jit', 'measure_interleaved', 'measure_latency']
