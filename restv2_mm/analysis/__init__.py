"""FLOPs, latency and memory of models, and the papers' analyses of their features (Fourier
spectra, linear CKA of branches); no training glue: never imports the engine."""
from .benchmark import activation_memory, render_benchmark, run_benchmark, train_step
from .branches import RESTV2_BRANCHES, RMT_BRANCHES, BranchRecorder, BranchSpec, branch_spec, find_mixers
from .cka import LinearCKA, linear_cka
from .eager_reference import eager_forward
from .feature_analysis import (
                    CKA_ESTIMATOR,
                    analyze_branches,
                    cka_pairs,
                    figure_title,
                    plot_cka,
                    plot_spectra,
                    render_branches,
)
from .flops import (
                    GROUPS,
                    SDPA_OP,
                    analyze_flops,
                    count_params,
                    flop_analyzer,
                    group_flops,
                    sdpa_flop_jit,
)
from .flops_growth import (
                    check_sizes,
                    flops_by_size,
                    flops_growth_record,
                    plot_flops_by_size,
                    plot_flops_record,
                    render_flops_by_size,
                    render_flops_record,
)
from .flops_report import add_latency, average_flops, flops_rows_table, plot_flops_rows, write_flops_rows
from .fourier import (
                    FourierSpectrum,
                    half_diagonal,
                    relative_log_amplitude,
                    shifted_log_amplitude,
                    spectrum_summary,
)
from .images import IMAGE_EXTENSIONS, eval_pipeline, image_batches, list_images
from .kernel_timings import (
                             best_ms,
                             fast_path_ablation,
                             render_fast_path_ablation,
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
from .plotting import pyplot, save_png
from .policy_benchmark import (
                               POLICIES,
                               POLICY_MODELS,
                               policy_step,
                               policy_step_memory,
                               render_policies,
                               run_policies,
)
from .rmt_layouts import RMT_ARCHS, RMT_LAYOUTS, rmt_backbone

__all__ = ['BranchRecorder', 'BranchSpec', 'CKA_ESTIMATOR', 'FourierSpectrum', 'GROUPS', 'IMAGE_EXTENSIONS',
           'KINDS', 'LinearCKA', 'POLICIES', 'POLICY_MODELS', 'RESTV2_BRANCHES', 'RMT_ARCHS', 'RMT_BRANCHES',
           'RMT_LAYOUTS', 'SDPA_OP', 'activation_memory', 'add_latency', 'analyze_branches', 'analyze_flops',
           'average_flops', 'best_ms', 'branch_spec', 'check_sizes', 'cka_pairs', 'compare_by_kind',
           'count_params', 'eager_forward', 'eval_pipeline', 'fast_path_ablation', 'figure_title',
           'find_mixers', 'flop_analyzer', 'flops_by_size', 'flops_growth_record', 'flops_rows_table',
           'fresh_process_env', 'group_flops', 'half_diagonal', 'image_batches', 'linear_cka', 'list_images',
           'machine_name', 'malloc_settings', 'measure_interleaved', 'measure_latency', 'measurement_context',
           'memory_in_fresh_process', 'op_kind', 'peak_memory_mb', 'plot_cka', 'plot_flops_by_size',
           'plot_flops_record', 'plot_flops_rows', 'plot_spectra', 'policy_step', 'policy_step_memory',
           'profile_by_kind', 'pyplot', 'relative_log_amplitude', 'render_benchmark', 'render_branches',
           'render_by_kind', 'render_fast_path_ablation', 'render_flops_by_size', 'render_flops_record',
           'render_policies', 'render_restv2_kernel_timings', 'render_rotary_timings', 'report_memory',
           'restv2_kernel_timings', 'rmt_backbone', 'rotary_timings', 'run_benchmark', 'run_policies',
           'save_png', 'sdpa_flop_jit', 'shifted_log_amplitude', 'spectrum_summary', 'top_ops', 'train_step',
           'write_flops_rows']
