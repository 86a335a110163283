"""The one place that registers restv2-mm into the mmdet, mmseg and mmpretrain registries.

Each library keeps its own ``MODELS`` registry (a child of mmengine's); a config built under
``default_scope='mmdet'`` looks only there and in mmengine's root, so the class goes into each
installed library. Libraries that are not installed are skipped.
"""
import importlib

from .models import ResTv2

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')


def register_all() -> list:
    """Register ``ResTv2`` (MODELS) and ``ResTv2LearningRateDecayOptimizerConstructor``
    (OPTIM_WRAPPER_CONSTRUCTORS) in every installed library's registries.

    Returns:
        list[str]: the libraries registered into.
    """
    try:  # the constructor builds on mmpretrain's
        from .engine.optimizers import ResTv2LearningRateDecayOptimizerConstructor as decay
    except ImportError:
        decay = None
    if decay is not None:  # the root registry: found from any scope, mmengine's own included
        from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
        OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=decay, force=True)
    done = []
    for lib in LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        registry.MODELS.register_module(name='ResTv2', module=ResTv2, force=True)
        if decay is not None:
            registry.OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=decay, force=True)
        done.append(lib)
    return done
