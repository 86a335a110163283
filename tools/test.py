"""Evaluate a checkpoint on the config's test set with mmengine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-metrics FILE.json] [--tta]
                         [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import json
import os

from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import restv2_mm  # noqa: F401
from restv2_mm.apis import check_data_roots
from restv2_mm.cli import (
    add_common_args,
    apply_common_args,
    check_whole_model_checkpoint,
    parse_common_args,
)
from restv2_mm.engine import AtomicLocalBackend


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-metrics', help='write the final metrics to this JSON file')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (tta_model)')
    return parse_common_args(add_common_args(parser), argv)


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint!r}')
    cfg = apply_common_args(Config.fromfile(args.config), args)
    cfg.load_from = args.checkpoint
    check_data_roots(cfg, ['test_dataloader'])
    check_whole_model_checkpoint(args.checkpoint, cfg)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError(f'--tta needs tta_model and tta_pipeline in {args.config}')
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    metrics = runner.test()
    if args.out_metrics:
        # Written only once evaluation finished, atomically: never a partial file.
        AtomicLocalBackend().put_text(json.dumps(
            {k: float(v) if hasattr(v, '__float__') else v for k, v in metrics.items()},
            indent=2), args.out_metrics)
    return metrics


if __name__ == '__main__':
    main()
