"""What a CUDA run needs from this machine, asked without touching a GPU: the device this process
trains on, whether it computes bf16 natively, and whether mmcv's compiled ops have CUDA kernels.

Every function here reads device properties (``torch.cuda.get_device_capability``,
``get_device_properties``: no CUDA context is created, nothing is allocated) or mmcv's build
information; none selects a device, so calling them before the launcher's ``set_device`` leaves the
other ranks' GPUs alone.
"""
import os
import sys
from typing import Dict, List, Set, Tuple

import torch

# Compute capability from which NVIDIA GPUs have bf16 tensor cores (Ampere, sm_80): below it
# (Turing T4 / RTX 20xx sm_75, Volta V100 sm_70) bf16 is emulated in fp32 at a fraction of the speed.
NATIVE_BF16_CAPABILITY = (8, 0)


class MissingCudaOpsError(RuntimeError):
    """A run on CUDA whose model calls mmcv's compiled ops, with an mmcv built without CUDA kernels."""


def local_device_index() -> int:
    """The CUDA device this process will train on, as mmengine's launchers choose it: ``LOCAL_RANK``
    (torchrun; mmengine sets it for Slurm), else ``SLURM_PROCID`` modulo the visible devices
    (mmengine's Slurm launcher), else ``OMPI_COMM_WORLD_LOCAL_RANK`` (MPI), else 0. Read from the
    environment only: ``torch.cuda.current_device()`` would be 0 in every rank before ``set_device``.
    """
    count = max(torch.cuda.device_count(), 1)
    for name in ('LOCAL_RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_LOCAL_RANK'):
        value = os.environ.get(name, '').strip()
        if value.isdigit():
            return int(value) % count
    return 0


def native_bf16(index: int) -> bool:
    """Whether CUDA device ``index`` computes bf16 in hardware: compute capability >= 8.0 (Ampere),
    or any ROCm device (as ``torch.cuda.is_bf16_supported`` says there).

    ``torch.cuda.is_bf16_supported()`` is not asked: it counts emulation as support by default (True
    on sm_75) and allocates a tensor on the current device, i.e. creates a CUDA context on GPU 0 in
    every rank that has not called ``set_device`` yet.
    """
    if getattr(torch.version, 'hip', None):
        return True
    return tuple(torch.cuda.get_device_capability(index)) >= NATIVE_BF16_CAPABILITY


def device_name(index: int) -> str:
    """``'NVIDIA A100-SXM4-80GB (sm_80)'``: the name and compute capability of device ``index``."""
    major, minor = torch.cuda.get_device_capability(index)
    return f'{torch.cuda.get_device_properties(index).name} (sm_{major}{minor})'


def mmcv_ops_status() -> Tuple[str, str]:
    """What mmcv's compiled ops offer: ``('cuda', '12.1')`` (CPU and CUDA kernels, compiled with
    that CUDA), ``('cpu', ...)`` (CPU kernels only: ``get_compiling_cuda_version()`` says 'not
    available'), or ``('absent', reason)`` (mmcv-lite, no mmcv, or an extension that fails to load).
    """
    try:
        from mmcv.ops import get_compiling_cuda_version
        version = str(get_compiling_cuda_version())
    except Exception as e:  # ImportError, or the extension's own load error (undefined symbols)
        return 'absent', f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}'
    if not version or version == 'not available':
        return 'cpu', f"get_compiling_cuda_version() = '{version}'"
    return 'cuda', version


def _compiled_op_names() -> Set[str]:
    """Config ``type`` names that resolve to mmcv code calling its compiled extension: the names
    mmcv.ops exports (``nms``, ``RoIAlign``, mmdet looks both up there) and mmcv's layers in
    mmengine's MODELS registry (``DCNv2``, ``MMSyncBN``, ...), kept where the defining module loads
    ``mmcv._ext`` (its ``ext_module``); the pure-PyTorch wrappers (``Conv2d``, ``point_sample``)
    are not."""
    import mmcv.ops
    from mmengine.registry import MODELS
    found = {name: getattr(mmcv.ops, name, None) for name in mmcv.ops.__all__}
    found.update({name: obj for name, obj in MODELS.module_dict.items()
                  if getattr(obj, '__module__', '').startswith('mmcv.ops')})
    return {name for name, obj in found.items()
            if hasattr(sys.modules.get(getattr(obj, '__module__', ''), None), 'ext_module')}


def mmcv_op_users(model_cfg, path: str = 'model') -> List[str]:
    """The places in ``model_cfg`` (a model config dict) whose ``type`` is one of mmcv's compiled
    ops, e.g. ``["model.roi_head.bbox_roi_extractor.roi_layer (RoIAlign)",
    "model.test_cfg.rcnn.nms (nms)"]``; empty where mmcv.ops does not import."""
    try:
        names = _compiled_op_names()
    except Exception:  # mmcv-lite: no compiled ops to call (building such a model fails on its own)
        return []
    found: List[str] = []

    def walk(node, where):
        if isinstance(node, dict):
            if isinstance(node.get('type'), str) and node['type'] in names:
                found.append(f'{where} ({node["type"]})')
            for key, value in node.items():
                walk(value, f'{where}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{where}[{i}]')
    walk(model_cfg, path)
    return found


def check_cuda_ops(cfg: Dict) -> None:
    """Stop a run that would train or test on CUDA with a model that calls mmcv's compiled ops
    (NMS, RoIAlign, deformable convs, ...) when the installed mmcv has no CUDA kernels: it would
    otherwise fail at its first such call (``nms_impl: implementation for device cuda:0 not
    found``), after data loading and at iteration 1 or the first validation.

    Args:
        cfg: The run's config (its ``model``).

    Raises:
        MissingCudaOpsError: names the config entries that call the ops, what mmcv reports and how
            to build an mmcv with CUDA kernels.
    """
    if not torch.cuda.is_available():
        return
    kind, detail = mmcv_ops_status()
    if kind != 'cpu':  # 'cuda': fine; 'absent': the model's own imports say what is missing
        return
    users = mmcv_op_users(cfg.get('model') or {})
    if not users:
        return
    import mmcv
    shown = ', '.join(users[:4]) + (f' and {len(users) - 4} more' if len(users) > 4 else '')
    raise MissingCudaOpsError(
        f"This run would use CUDA, and its model calls mmcv's compiled ops ({shown}), but mmcv "
        f'{mmcv.__version__} was built without CUDA kernels ({detail}): the first of them would '
        f"fail with 'implementation for device cuda:0 not found'. Rebuild mmcv with its CUDA ops "
        f'for torch {torch.__version__} (CUDA {torch.version.cuda}): run `bash '
        f'tools/misc/setup_env.sh` on this GPU machine (it finds an nvcc for CUDA '
        f'{torch.version.cuda} or says what to install), or `FORCE_CUDA=1 bash '
        f'tools/misc/setup_env.sh` where no GPU is visible while building.')
