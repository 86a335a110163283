"""The one place that registers restv2-mm into the mmdet, mmseg and mmpretrain registries.

Each library keeps its own ``MODELS`` registry (a child of mmengine's); a config built under
``default_scope='mmdet'`` looks only there and in mmengine's root, so the backbones go into each
installed library. Libraries that are not installed are skipped.
"""
import importlib
import os.path as osp

from mmengine.fileio import register_backend
from mmengine.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS, WEIGHT_INITIALIZERS

from .engine.atomic_backend import AtomicLocalBackend
from .engine.hooks import RNGStateHook
from .models import RMT, PVTEMSAv2, ResTv1, ResTv2, RMTClsNeck, RMTSwin
from .models.utils import PretrainedWeights

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')
# The repository root (configs/, model-index.yml) of a source checkout or editable install.
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MMPRETRAIN_METAFILE = osp.join(REPO, 'configs', 'mmpretrain', 'metafile.yml')
# PVTEMSAv2 is None without mmdet (it extends mmdet's PVT).
BACKBONES = tuple(cls for cls in (ResTv2, ResTv1, RMT, RMTSwin, PVTEMSAv2) if cls is not None)
# Necks of the official classifiers (registered in every library, used by mmpretrain configs).
NECKS = (RMTClsNeck, )


def register_all() -> list:
    """Register the backbones (ResTv2, ResTv1, RMT, RMTSwin, PVTEMSAv2) and necks in mmengine's root and
    every installed library's MODELS registry; ``ResTv2LearningRateDecayOptimizerConstructor``,
    ``RNGStateHook`` and the
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
    for cls in BACKBONES + NECKS:  # the root too: configs and tools without a scope find them
        MODELS.register_module(name=cls.__name__, module=cls, force=True)
    done = []
    for lib in LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        for cls in BACKBONES + NECKS:
            registry.MODELS.register_module(name=cls.__name__, module=cls, force=True)
        done.append(lib)
    if 'mmpretrain' in done:
        register_model_names()
    return done


def register_model_names() -> bool:
    """Let mmpretrain's ``get_model``, ``ImageClassificationInferencer`` and ``list_models`` know
    our classifiers by name (``get_model('restv2-tiny_8xb256_in1k', pretrained=PATH)``): their
    metafile goes into mmpretrain's ``ModelHub``. Needs the configs of a source checkout or an
    editable install; returns whether they were found. Idempotent."""
    from mmpretrain.apis.model import ModelHub
    if not osp.isfile(MMPRETRAIN_METAFILE):
        return False
    if 'restv2-tiny_8xb256_in1k' not in ModelHub._models_dict:
        ModelHub.register_model_index(MMPRETRAIN_METAFILE, config_prefix=REPO)
    return True
