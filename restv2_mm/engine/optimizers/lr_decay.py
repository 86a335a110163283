"""Stage-wise / layer-wise learning-rate decay for models with a ResTv2 backbone."""
from typing import List, Optional

from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor
from torch import nn


class ResTv2LearningRateDecayOptimizerConstructor(LearningRateDecayOptimWrapperConstructor):
    """Learning-rate decay by depth in one of our backbones (ResTv2 appendix C.2: stage-wise, 0.9).

    mmseg's and mmdet's ``LearningRateDecayOptimizerConstructor`` accept only ConvNeXt/BEiT; this
    one asks the backbone: the lr of a parameter is ``lr * decay_rate ** (num_layers - 1 - depth)``
    with ``(depth, num_layers) = model.backbone.get_layer_depth(name, 'backbone.', decay_type)``
    (stem 0, stage i i, neck and heads last, i.e. multiplier 1; see
    ``MultiScaleBackbone.get_layer_depth``). Weight-decay rules
    (``norm_decay_mult``, ``bias_decay_mult``, ``flat_decay_mult``, ``custom_keys``) are
    mmpretrain's, whose constructor this extends.

    ``paramwise_cfg``: ``decay_rate`` (float, default 1), ``decay_type`` (``'stage_wise'``
    (default) or ``'layer_wise'``), plus the weight-decay keys above. Each param group records
    ``lr_scale``, ``layer_id`` and ``param_name``.

    Example::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=0.05),
            constructor='ResTv2LearningRateDecayOptimizerConstructor',
            paramwise_cfg=dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.))

    Raises:
        TypeError: the model has no ``backbone`` with ``get_layer_depth`` (not one of ours).
        ValueError: unknown ``decay_type`` (raised by the backbone when params are added).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        # Checked by the backbone's get_layer_depth, which defines the decay types.
        self.decay_type = paramwise_cfg.pop('decay_type', 'stage_wise')
        # mmpretrain's constructor reads the rate under this name.
        paramwise_cfg['layer_decay_rate'] = paramwise_cfg.pop('decay_rate', 1.0)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   get_layer_depth=None, **kwargs) -> None:
        if get_layer_depth is None:  # the top-level call: ask the model's backbone
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(f'{type(self).__name__} needs a model whose backbone has '
                                f'get_layer_depth (ResTv2, ResTv1, RMT); got {type(backbone).__name__}')

            def get_layer_depth(name):
                return backbone.get_layer_depth(name, 'backbone.', self.decay_type)
        super().add_params(params, module, prefix=prefix, get_layer_depth=get_layer_depth)
