"""FLOPs, latency and memory of models (no training glue: never imports the engine)."""
from .benchmark import activation_memory, render_benchmark, run_benchmark, train_step
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
from .kernel_timings import (
                             best_ms,
                             render_restv2_kernel_timings,
                             render_rotary_timings,
                             restv2_kernel_timings,
                             rotary_timings,
)
from .latency import machine_name, measure_interleaved, measure_latency, measurement_context
from .memory import (
                     fresh_process_env,
                     malloc_settings,
                     memory_in_fresh_process,
                     peak_memory_mb,
                     report_memory,
)
from .op_profile import KINDS, compare_by_kind, op_kind, profile_by_kind, render_by_kind, top_ops
from .policy_benchmark import (
                               POLICIES,
                               POLICY_MODELS,
                               policy_step,
                               policy_step_memory,
                               render_policies,
                               run_policies,
)
from .rmt_layouts import RMT_ARCHS, RMT_LAYOUTS, rmt_backbone

__all__ = ['GROUPS', 'KINDS', 'POLICIES', 'POLICY_MODELS', 'RMT_ARCHS', 'RMT_LAYOUTS', 'SDPA_OP',
           'activation_memory', 'analyze_flops', 'best_ms', 'compare_by_kind', 'count_params',
           'eager_forward', 'flop_analyzer', 'fresh_process_env', 'group_flops', 'machine_name',
           'malloc_settings', 'measure_interleaved', 'measure_latency', 'measurement_context',
           'memory_in_fresh_process', 'op_kind', 'peak_memory_mb', 'policy_step',
           'policy_step_memory', 'profile_by_kind', 'render_benchmark', 'render_by_kind',
           'render_policies', 'render_restv2_kernel_timings', 'render_rotary_timings',
           'report_memory', 'restv2_kernel_timings', 'rmt_backbone', 'rotary_timings',
           'run_benchmark', 'run_policies', 'sdpa_flop_jit', 'top_ops', 'train_step']
