"""FLOPs, latency and memory of models, and the papers' analyses of their features (Fourier
spectra, linear CKA of branches); no training glue: never imports the engine."""
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
from .plotting import pyplot, save_png

__all__ = ['add_latency', 'analyze_branches', 'analyze_flops', 'average_flops', 'branch_spec',
           'BranchRecorder', 'BranchSpec', 'check_sizes', 'CKA_ESTIMATOR', 'cka_pairs', 'count_params',
           'eager_forward', 'eval_pipeline', 'figure_title', 'find_mixers', 'flop_analyzer', 'flops_by_size',
           'flops_growth_record', 'flops_rows_table', 'FourierSpectrum', 'fresh_process_env', 'group_flops',
           'GROUPS', 'half_diagonal', 'image_batches', 'IMAGE_EXTENSIONS', 'linear_cka', 'LinearCKA',
           'list_images', 'load_official_file', 'machine_name', 'malloc_settings', 'measure_interleaved',
           'measure_latency', 'memory_in_fresh_process', 'OFFICIAL_ARCHS', 'OFFICIAL_RMT_ENV',
           'official_rmt_pair', 'official_root', 'peak_memory_mb', 'plot_cka', 'plot_flops_by_size',
           'plot_flops_record', 'plot_flops_rows', 'plot_spectra', 'pyplot', 'relative_log_amplitude',
           'render_branches', 'render_flops_by_size', 'render_flops_record', 'RESTV2_BRANCHES',
           'rmt_backbone', 'RMT_BRANCHES', 'RMT_LAYOUTS', 'save_png', 'sdpa_flop_jit', 'SDPA_OP',
           'shifted_log_amplitude', 'spectrum_summary', 'write_flops_rows']
