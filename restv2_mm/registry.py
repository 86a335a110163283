"""The one place that registers restv2-mm into the mmdet, mmseg and mmpretrain registries.

Each library keeps its own ``MODELS`` registry (a child of mmengine's); a config built under
``default_scope='mmdet'`` looks only there and in mmengine's root, so the class goes into each
installed library. Libraries that are not installed are skipped.
"""
import importlib

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

from .models import ResTv2

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')


def register_all() -> list:
    """Register ``ResTv2`` in every installed library's MODELS registry, and
    ``ResTv2LearningRateDecayOptimizerConstructor`` in mmengine's root OPTIM_WRAPPER_CONSTRUCTORS,
    which the mmdet, mmseg and mmpretrain registries search as their parent.

    Returns:
        list[str]: the libraries registered into.
    """
    try:  # the constructor builds on mmpretrain's
        from .engine.optimizers import ResTv2LearningRateDecayOptimizerConstructor as decay
    except ImportError:
        pass
    else:
        OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=decay, force=True)
    done = []
    for lib in LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        registry.MODELS.register_module(name='ResTv2', module=ResTv2, force=True)
        done.append(lib)
    return done
