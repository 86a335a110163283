"""Write a config that puts one of our backbones into a stock mmdet / mmseg / mmpretrain config.

    python tools/misc/swap_backbone.py STOCK_CONFIG --backbone restv2-tiny --out my_config.py
        [--backbone-options drop_path_rate=0.1 style=win] [--checkpoint restv2_tiny_224.pth]
        [--force]

STOCK_CONFIG is a file or a stock name (mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py). The new
config inherits it (_base_) and sets only what the swap changes: the backbone with the levels the
framework reads, the channels of the necks and heads that read them, the input normalisation and
whatever else the framework holds of the old backbone, each listed in its header. It trains with
tools/train.py as it is. A framework that cannot take another backbone is named with the setting
that holds the expectation.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

import restv2_mm  # noqa: F401  (registers the backbones)
from restv2_mm.apis import SWAP_BACKBONES, SwapError, backbone_config, load_config, plan_swap
from restv2_mm.utils import atomic_write


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', help='a stock config: a file or a name such as mmdet::dino/...py')
    parser.add_argument('--backbone', required=True, choices=sorted(SWAP_BACKBONES), metavar='NAME',
                        help=f'one of {", ".join(sorted(SWAP_BACKBONES))}')
    parser.add_argument('--backbone-options', nargs='+', action=DictAction, default={},
                        help='more backbone arguments, key=value (drop_path_rate=0.1 style=win)')
    parser.add_argument('--checkpoint', help="the backbone's ImageNet checkpoint (init_cfg)")
    parser.add_argument('--out', required=True, help='the config file to write (.py)')
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    args = parser.parse_args(argv)
    if not args.out.endswith('.py'):
        parser.error(f'--out must be a .py config file, got {args.out!r}')
    if osp.exists(args.out) and not args.force:
        parser.error(f'--out {args.out!r} exists; add --force to overwrite it')
    return args


def main(argv=None):
    args = parse_args(argv)
    options = dict(args.backbone_options)
    if args.checkpoint:
        options['init_cfg'] = dict(type='Pretrained', checkpoint=args.checkpoint)
    stock = load_config(args.config)
    try:
        plan = plan_swap(stock, backbone_config(args.backbone, **options))
    except SwapError as e:
        sys.exit(f'{args.config} cannot take {args.backbone}: {e}')
    atomic_write(args.out, plan.text(args.config, args.out))
    plan.check_file(args.out, stock)  # read back as tools/train.py reads it
    print(f'wrote {args.out}: {args.config} with {args.backbone}, out_indices {plan.out_indices}')
    for change in plan.changes:
        print(f'  {change.field}: {change.why}')
    for note in plan.notes:
        print(f'  note: {note}')


if __name__ == '__main__':
    main()
