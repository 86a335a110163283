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
from .latency import machine_name, measure_interleaved, measure_latency
from .memory import fresh_process_env, malloc_settings, memory_in_fresh_process, peak_memory_mb
from .official_rmt import (
                    OFFICIAL_ARCHS,
                    OFFICIAL_RMT_ENV,
                    RMT_LAYOUTS,
                    load_official_file,
                    official_rmt_pair,
                    official_root,
                    rmt_backbone,
)

__all__ = ['GROUPS', 'OFFICIAL_ARCHS', 'OFFICIAL_RMT_ENV', 'SDPA_OP', 'analyze_flops', 'count_params',
           'eager_forward', 'flop_analyzer', 'fresh_process_env', 'group_flops', 'load_official_file',
           'machine_name', 'malloc_settings', 'measure_interleaved', 'measure_latency',
           'memory_in_fresh_process', 'official_rmt_pair', 'official_root', 'peak_memory_mb',
           'RMT_LAYOUTS', 'rmt_backbone', 'sdpa_flop_jit']
