"""Distributed training on CPUs (gloo), where mmengine's launcher assumes CUDA."""
import warnings

import torch
from mmengine.config import Config, ConfigDict


def revert_sync_bn_cfg(cfg) -> int:
    """Turn every ``SyncBN`` norm config under ``cfg`` into ``BN`` in place; returns how many."""
    count = 0
    if isinstance(cfg, dict):
        if cfg.get('type') in ('SyncBN', 'MMSyncBN'):
            cfg['type'] = 'BN'
            count += 1
        for v in cfg.values():
            count += revert_sync_bn_cfg(v)
    elif isinstance(cfg, (list, tuple)):
        count += sum(revert_sync_bn_cfg(v) for v in cfg)
    return count


def setup_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on CPUs (gloo), where mmengine assumes CUDA.

    mmengine's launcher calls ``torch.cuda.set_device`` and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Without CUDA this initialises the
    process group with gloo from torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, ...),
    builds DDP without device ids, and turns SyncBN into BN (torch's SyncBatchNorm trains only on
    GPUs; with ``norm_eval=True`` the stem's norms do not train anyway). Does nothing on GPUs or
    without a launcher.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'--launcher {cfg.launcher} needs GPUs; on CPUs use --launcher pytorch '
                         '(tools/dist_train.sh)')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', ConfigDict()).setdefault('dist_cfg', ConfigDict())['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.device_ids = None
    cfg.model_wrapper_cfg = wrapper
    if revert_sync_bn_cfg(cfg.model) or cfg.pop('sync_bn', None):
        warnings.warn('SyncBN trains only on GPUs: using BN in each process on the CPU')
