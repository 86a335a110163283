"""Train any restv2-mm (or stock mmdet/mmseg/mmpretrain) config with mmengine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

``--resume`` alone continues from the newest complete checkpoint in the work dir. Checkpoints are
written atomically and carry the random generators (``restv2_mm.engine``), so a run killed after
a checkpoint and resumed repeats the uninterrupted losses.

The default scope (mmdet, mmseg or mmpretrain) comes from the config; restv2-mm registers itself
through the config's ``custom_imports``.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import restv2_mm  # noqa: F401  (registers the backbones even for configs without custom_imports)
from restv2_mm.apis import check_data_roots
from restv2_mm.cli import (
    add_common_args,
    apply_common_args,
    check_pretrained_given,
    check_whole_model_checkpoint,
    parse_common_args,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir if none is given')
    parser.add_argument('--amp', action='store_true', help='mixed precision training (CUDA only)')
    return parse_common_args(add_common_args(parser), argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = apply_common_args(Config.fromfile(args.config), args)
    loaders = ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else [])
    check_data_roots(cfg, loaders)
    check_pretrained_given(cfg)
    if cfg.get('load_from') and not cfg.get('resume'):
        check_whole_model_checkpoint(cfg.load_from, cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    batch = cfg.train_dataloader.get('batch_size', 1)
    # One line per process (mmengine logs only rank 0): shows every rank started.
    print(f'rank {runner.rank} of {runner.world_size}: {batch} images per process, effective '
          f'batch {batch * runner.world_size}', flush=True)
    runner.train()


if __name__ == '__main__':
    main()
