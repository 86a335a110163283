"""The official RMT code (github.com/qhfan/RMT) run from a checkout, timm-free: its model files
executed with stand-ins for what they import, and the official detection backbone with its weights
copied into our :class:`restv2_mm.models.RMT`, the pair the tests compare and the benchmarks
(``tools/analysis_tools/benchmark.py --suites rmt``, ``profile_rmt.py``) time side by side.

This runs third-party files, so it lives with the tests, never in the installed package: the tests
import it (``tests/`` is on their path), the tools load it from the checkout
(:func:`runpy.run_path`).

The official detection backbone (``detect/mmdet/models/backbones/RMT.py``, class ``RMT``) is
executed with stand-ins for what it imports and this environment lacks (timm, einops, fvcore,
mmcv_custom, mmdet 2.x's builder and logger), only inside that file's namespace: ``sys.modules`` is
left alone. Its ``SyncBatchNorm`` becomes ``BatchNorm`` (one process).
"""
import builtins
import os
import os.path as osp
import types
from typing import Optional, Tuple

from torch import nn

OFFICIAL_RMT_ENV = 'RESTV2_OFFICIAL_RMT'
DETECTION_FILE = osp.join('detect', 'mmdet', 'models', 'backbones', 'RMT.py')


def official_root(root: Optional[str] = None) -> Optional[str]:
    """The official checkout: ``root``, else ``$RESTV2_OFFICIAL_RMT``; None where neither names a
    directory holding ``detect/mmdet/models/backbones/RMT.py``."""
    root = root or os.environ.get(OFFICIAL_RMT_ENV)
    return root if root and osp.isfile(osp.join(root, DETECTION_FILE)) else None


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


class _Registry:
    def register_module(self, *args, **kwargs):
        return args[0] if args and isinstance(args[0], type) else (lambda cls: cls)


def _stand_ins():
    from mmcv.cnn.bricks import DropPath
    return {
        'timm.models.layers': _module('timm.models.layers', DropPath=DropPath,
                                      to_2tuple=lambda x: (x, x),
                                      trunc_normal_=nn.init.trunc_normal_),
        'timm.models.vision_transformer': _module('vit', VisionTransformer=object,
                                                  _cfg=lambda **kwargs: dict(kwargs)),
        'timm.models.registry': _module('registry', register_model=lambda fn: fn),
        'fvcore.nn': _module('fvcore.nn', FlopCountAnalysis=None, flop_count_table=None),
        'einops': _module('einops', einsum=None),
        'mmcv_custom': _module('mmcv_custom', load_checkpoint=None),
        'mmdet.utils': _module('mmdet.utils', get_root_logger=None),
        'builder': _module('builder', BACKBONES=_Registry()),  # `from ..builder import BACKBONES`
    }


def load_official_file(path: str, extra_stand_ins: Optional[dict] = None) -> dict:
    """Execute an official model file with the stand-ins (and ``extra_stand_ins``, module name to
    module) in place of its missing imports. Returns its globals."""
    stand_ins, real_import = dict(_stand_ins(), **(extra_stand_ins or {})), builtins.__import__

    def hooked_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name in stand_ins:
            return stand_ins[name]
        return real_import(name, globals, locals, fromlist, level)

    namespace = {'__name__': 'rmt_official', '__file__': path,
                 '__builtins__': dict(builtins.__dict__, __import__=hooked_import)}
    with open(path) as f:
        exec(compile(f.read(), path, 'exec'), namespace)
    return namespace


def official_rmt_pair(arch: str, chunkwise: Tuple[bool, ...],
                      root: Optional[str] = None) -> Tuple[nn.Module, nn.Module]:
    """(official detection ``RMT``, our ``RMT``) of ``arch`` (a key of ``RMT.arch_zoo``) with the given
    ``chunkwise_recurrents``, drop path 0, all four outputs normalised, the official random
    initialisation copied into ours (so their outputs are equal).

    Raises:
        FileNotFoundError: no official checkout (``root`` / ``$RESTV2_OFFICIAL_RMT``).
        KeyError: an ``arch`` that ``RMT.arch_zoo`` lacks.
    """
    from mmengine.model import revert_sync_batchnorm

    from restv2_mm.analysis import rmt_backbone
    from restv2_mm.models import RMT
    found = official_root(root)
    if found is None:
        given = root or os.environ.get(OFFICIAL_RMT_ENV)
        raise FileNotFoundError(
            f'no official RMT checkout: pass its path or set ${OFFICIAL_RMT_ENV} to a clone of '
            f'github.com/qhfan/RMT (holding {DETECTION_FILE}); got {given!r}')
    # Our arch table holds the official settings under the official constructor's names
    # (detect/configs/RMT/*); the configs differ in ``chunkwise_recurrents`` only.
    settings = dict(RMT.arch_zoo[arch], chunkwise_recurrents=list(chunkwise))
    official = load_official_file(osp.join(found, DETECTION_FILE))['RMT'](
        out_indices=(0, 1, 2, 3), drop_path_rate=0., **settings)
    official = revert_sync_batchnorm(official)
    ours = rmt_backbone(arch, chunkwise)
    ours.load_state_dict(RMT.convert_state_dict(official.state_dict()))
    return official, ours
