"""The one place that registers restv2-mm into the mmdet, mmseg and mmpretrain registries.

Each library keeps its own ``MODELS`` registry (a child of mmengine's); a config built under
``default_scope='mmdet'`` looks only there and in mmengine's root, so the backbones go into each
installed library. Libraries that are not installed are skipped.
"""
import importlib
import os.path as osp

from mmengine.fileio import register_backend
from mmengine.registry import (
    DATA_SAMPLERS,
    HOOKS,
    MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    WEIGHT_INITIALIZERS,
)

from .engine.atomic_backend import AtomicLocalBackend
from .engine.hooks import RNGStateHook, SeededSampler
from .models import RMT, ResTv1, ResTv2, RMTClsNeck, RMTSwin, build_pvt_emsav2
from .models.common import PretrainedWeights
from .utils.paths import mim_root
from .utils.serialization import load_local_checkpoint
from .utils.torch_compat import default_weights_only

LIBRARIES = ('mmdet', 'mmseg', 'mmpretrain')
# configs/, tools/, model-index.yml: the checkout (source, editable) or restv2_mm/.mim (wheel).
REPO = mim_root()
MMPRETRAIN_METAFILE = osp.join(REPO, 'configs', 'mmpretrain', 'metafile.yml')
# (name, class or builder). PVTEMSAv2 extends mmdet's PVT: its builder imports mmdet when a config
# builds one, and says what is missing where mmdet's models cannot import (mmcv-lite).
BACKBONES = tuple((cls.__name__, cls) for cls in (ResTv2, ResTv1, RMT, RMTSwin)) + (
    ('PVTEMSAv2', build_pvt_emsav2), )
# Necks of the official classifiers (registered in every library, used by mmpretrain configs).
NECKS = (('RMTClsNeck', RMTClsNeck), )


def register_all() -> list:
    """Register the backbones (ResTv2, ResTv1, RMT, RMTSwin, PVTEMSAv2) and necks in mmengine's root and
    every installed library's MODELS registry; ``ResTv2LearningRateDecayOptimizerConstructor``,
    ``RNGStateHook``, the ``SeededSampler`` and the
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
    DATA_SAMPLERS.register_module(module=SeededSampler, force=True)
    WEIGHT_INITIALIZERS.register_module(module=PretrainedWeights, force=True)
    register_backend('atomic_local', AtomicLocalBackend, force=True)
    register_safe_local_loader()
    for name, cls in BACKBONES + NECKS:  # the root too: configs and tools without a scope find them
        MODELS.register_module(name=name, module=cls, force=True)
    done = []
    for lib in LIBRARIES:
        try:
            registry = importlib.import_module(f'{lib}.registry')
        except ImportError:
            continue
        for name, cls in BACKBONES + NECKS:
            registry.MODELS.register_module(name=name, module=cls, force=True)
        done.append(lib)
    if 'mmpretrain' in done:
        register_model_names()
    return done


def register_safe_local_loader(force: bool = False) -> bool:
    """Where a plain ``torch.load`` unpickles everything (torch < 2.6), make mmengine read local
    checkpoint files (``load_checkpoint``, ``runner.load_checkpoint``, ``runner.resume``: the
    ``CheckpointLoader`` scheme ``''``) with :func:`restv2_mm.utils.load_local_checkpoint`, the
    allow-list loader, as torch >= 2.6 does by itself. ``force`` registers it on any torch.

    Returns:
        bool: whether it was registered.
    """
    if default_weights_only() and not force:
        return False
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    return True


def register_model_names() -> bool:
    """Let mmpretrain's ``get_model``, ``ImageClassificationInferencer`` and ``list_models`` know
    our classifiers by name (``get_model('restv2-tiny_8xb256_in1k', pretrained=PATH)``): their
    metafile goes into mmpretrain's ``ModelHub``. Reads the configs of a source checkout, an
    editable install or an installed wheel (:func:`restv2_mm.utils.paths.mim_root`); returns
    whether they were found. Idempotent."""
    from mmpretrain.apis.model import ModelHub
    if not osp.isfile(MMPRETRAIN_METAFILE):
        return False
    if 'restv2-tiny_8xb256_in1k' not in ModelHub._models_dict:
        ModelHub.register_model_index(MMPRETRAIN_METAFILE, config_prefix=REPO)
    return True
