"""The one place that registers restv2-mm into the mmdet, mmseg and mmpretrain registries.

Each library keeps its own ``MODELS`` registry (a child of mmengine's); a config built under
``default_scope='mmdet'`` looks only there and in mmengine's root, so the backbones go into each
installed library. Libraries that are not installed are skipped.
"""
import importlib

from mmengine.fileio import register_backend
from mmengine.registry import HOOKS, OPTIM_WRAPPER_CONSTRUCTORS, WEIGHT_INITIALIZERS

from .engine.atomic_backend import AtomicLocalBackend
from .engine.hooks import RNGStateHook
from .models import PVTEMSAv2, ResTv1, ResTv2
from .models.utils import PretrainedWeights

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')
BACKBONES = tuple(cls for cls in (ResTv2, ResTv1, PVTEMSAv2) if cls is not None)


def register_all() -> list:
    """Register the backbones (ResTv2, ResTv1, PVTEMSAv2) in every installed library's MODELS registry;
    ``ResTv2LearningRateDecayOptimizerConstructor``, ``RNGStateHook`` and the
    ``PretrainedWeights`` initializer in mmengine's root registries, which the mmdet, mmseg and
    mmpretrain registries search as their parent; and the ``'atomic_local'`` file backend
    (checkpoint ``backend_args``).

    Returns:
        list[str]: the libraries registered into.
    """
    try:  # the constructor builds on mmpretrain's
        from .engine.optimizers import ResTv2LearningRateDecayOptimizerConstructor as decay
    except ImportError:
        pass
    else:
        OPTIM_WRAPPER_CONSTRUCTORS.register_module(module=decay, force=True)
    HOOKS.register_module(module=RNGStateHook, force=True)
    WEIGHT_INITIALIZERS.register_module(module=PretrainedWeights, force=True)
    register_backend('atomic_local', AtomicLocalBackend, force=True)
    done = []
    for lib in LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        for cls in BACKBONES:
            registry.MODELS.register_module(name=cls.__name__, module=cls, force=True)
        done.append(lib)
    return done
