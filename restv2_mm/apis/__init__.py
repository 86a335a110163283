"""From a config to a model: the checks a config must pass and the model it builds, shared by the
tools (train, test, FLOPs, benchmarks, export) and the command-line layer; and our backbones put
into any stock config (:func:`swap_backbone`)."""
from .config_checks import backbone_class, check_data_roots, check_model_channels, our_backbone
from .model_io import (
                       DEFAULT_SHAPES,
                       SCOPES,
                       TensorForward,
                       build_model,
                       config_scope,
                       dataset_inputs,
                       fixed_input,
                       load_config,
)
from .stock_levels import OUR_STRIDES, Levels, SwapError, stock_levels
from .swap_backbone import SWAP_BACKBONES, BackboneSwap, backbone_config, plan_swap, swap_backbone

__all__ = ['DEFAULT_SHAPES', 'SCOPES', 'TensorForward', 'backbone_class', 'build_model',
           'check_data_roots', 'check_model_channels', 'config_scope', 'dataset_inputs',
           'fixed_input', 'load_config', 'our_backbone', 'OUR_STRIDES', 'Levels', 'SwapError',
           'stock_levels', 'SWAP_BACKBONES', 'BackboneSwap', 'backbone_config', 'plan_swap',
           'swap_backbone']
