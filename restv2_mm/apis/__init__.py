"""What the tools do, as functions: from a config to a model (the checks a config must pass, the
model it builds and the inputs its task needs), the benchmark's rows, the model zoo's figures,
official checkpoints converted, predictions drawn, and our backbones put into any stock config
(:func:`swap_backbone`)."""
from .benchmark import (
                        SIZES,
                        SUITES,
                        benchmark_row_memory,
                        benchmark_rows,
                        build_benchmark_row,
                        memory_columns,
)
from .config_checks import backbone_class, check_data_roots, check_model_channels, our_backbone
from .config_model import SCOPES, build_model, config_scope, load_config
from .model_inputs import DEFAULT_SHAPES, TensorForward, dataset_inputs, fixed_input
from .model_zoo import (
                        input_shape,
                        measure_model,
                        metadata_mismatches,
                        metafile_models,
                        render_model_zoo,
                        write_metadata,
)
from .official_checkpoint import (
                                  CONVERTER_VERSION,
                                  convert_official_checkpoint,
                                  file_sha256,
                                  official_family,
)
from .predict import predict_image
from .stock_levels import OUR_STRIDES, Levels, SwapError, stock_levels
from .swap_backbone import SWAP_BACKBONES, BackboneSwap, backbone_config, plan_swap, swap_backbone

__all__ = ['CONVERTER_VERSION', 'DEFAULT_SHAPES', 'SCOPES', 'SIZES', 'SUITES', 'TensorForward',
           'backbone_class', 'benchmark_row_memory', 'benchmark_rows', 'build_benchmark_row',
           'build_model', 'check_data_roots', 'check_model_channels', 'config_scope',
           'convert_official_checkpoint', 'dataset_inputs', 'file_sha256', 'fixed_input',
           'input_shape', 'load_config', 'measure_model', 'memory_columns', 'metadata_mismatches',
           'metafile_models', 'official_family', 'our_backbone', 'predict_image', 'render_model_zoo',
           'write_metadata', 'OUR_STRIDES', 'Levels', 'SwapError', 'stock_levels', 'SWAP_BACKBONES',
           'BackboneSwap', 'backbone_config', 'plan_swap', 'swap_backbone']
