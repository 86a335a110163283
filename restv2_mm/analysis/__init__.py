"""FLOPs, latency and memory of models (no training glue: never imports the engine)."""
from .eager_reference import eager_forward
from .flops import (
                    GROUPS,
                    SDPA_OP,
                    analyze_flops,
                    count_params,
                    flop_analyzer,
                    group_flops,
                    sdpa_flop_jit,
)
from .latency import measure_interleaved, measure_latency
from .memory import fresh_process_env, peak_memory_mb

__all__ = ['GROUPS', 'SDPA_OP', 'analyze_flops', 'count_params', 'eager_forward',
           'flop_analyzer', 'fresh_process_env', 'group_flops', 'measure_interleaved',
           'measure_latency', 'peak_memory_mb', 'sdpa_flop_jit']
