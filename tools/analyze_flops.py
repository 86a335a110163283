"""Per-operator GFLOPs (Conv / Linear / Matmul / Others) and latency, per fine-tuning style; or the
backbones' GFLOPs against input size (PVTv2's Figure 4).

    python tools/analyze_flops.py CONFIG [CONFIG ...] [--styles global win cwin hwin]
        [--shape H W | --num-images N | --sizes S [S ...] [--labels NAME ...]] [--latency]
        [--device cpu|cuda] [--batch-size B] [--out FILE.{json,csv,md}] [--plot FILE.png]
        [--cfg-options k=v ...]
    python tools/analyze_flops.py --render FILE.json   (the table of a --out JSON; measures nothing)

CONFIG: a file, or a stock one (mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py); the paper's
ablations are configs/mmpretrain/ablations/*.py or switches (docs/ablations.md). GFLOPs are
multiply-adds (as in the ResTv2 paper) of the tensor forward (mmengine's FlopAnalyzer, SDPA as
QK^T + AV); default inputs 1280x800 detection, 2048x512 segmentation, 224 classification. --styles
rebuilds each ResTv2 config in every style; --sizes counts the backbone on one S x S image per size
(--plot: GFLOPs against S). See docs/analyze_flops.md.
"""
import argparse
import os
import sys

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import restv2_mm  # noqa: F401
from restv2_mm import analysis, apis
from restv2_mm.models import STYLES, ResTv2
from restv2_mm.utils import command_line, read_json, write_outputs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('configs', nargs='*', metavar='CONFIG')
    parser.add_argument('--styles', nargs='+', choices=STYLES, help='each ResTv2 config in each style')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                       help='fixed input (default: the paper size for the task)')
    group.add_argument('--num-images', type=int,
                       help='average over the first N val images through the test pipeline')
    group.add_argument('--sizes', nargs='+', type=int, metavar='S',
                       help='backbone GFLOPs on an S x S image for each S (PVTv2 Figure 4)')
    parser.add_argument('--labels', nargs='+', help='--sizes: one display name per CONFIG')
    parser.add_argument('--latency', action='store_true', help='time the forward (ms)')
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per row (--latency)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch-size', type=int, default=1, help='batch of the fixed-shape input')
    parser.add_argument('--out', help='write the rows to FILE.json, FILE.csv or FILE.md')
    parser.add_argument('--plot', help='write a PNG: GFLOPs groups and latency per row, or GFLOPs by size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, key=value')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the markdown table of rows written with --out')
    args = parser.parse_args(argv)
    if not args.configs and not args.render:
        parser.error('give at least one CONFIG (or --render FILE.json)')
    exts = ('.json', '.md') if args.sizes else ('.json', '.csv', '.md')
    if args.out and os.path.splitext(args.out)[1] not in exts:
        parser.error(f'--out must end in {", ".join(exts[:-1])} or {exts[-1]}, got {args.out!r}')
    if args.plot and not args.plot.endswith('.png'):
        parser.error(f'--plot must end in .png, got {args.plot!r}')
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    if args.shape and min(args.shape) < 1:
        parser.error(f'--shape H W must be positive, got {args.shape}')
    if args.sizes and args.latency:
        parser.error('--sizes counts GFLOPs only; leave out --latency')
    if args.labels and (not args.sizes or len(args.labels) != len(args.configs)):
        parser.error(f'--labels goes with --sizes, one per CONFIG ({len(args.configs)}), got {args.labels}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available on this machine')
    return args


def plan(args):
    """(config path, label, style, config) of every row: each ResTv2 config once per --styles."""
    loaded = [(path, apis.load_config(path)) for path in args.configs]
    restv2 = []
    for path, cfg in loaded:
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        cls = apis.backbone_class(cfg.model.get('backbone'), apis.config_scope(cfg, path))
        restv2.append(isinstance(cls, type) and issubclass(cls, ResTv2))
    if args.styles and not any(restv2):
        sys.exit(f"error: --styles needs a ResTv2 backbone, this config has "
                 f"{loaded[0][1].model.get('backbone', {}).get('type')!r}")
    labels = args.labels or [os.path.basename(p).replace('.py', '') for p in args.configs]
    return [(path, label, style, cfg) for (path, cfg), label, is_restv2 in zip(loaded, labels, restv2)
            for style in (args.styles if args.styles and is_restv2 else [None])]


def measure_row(path, cfg, style, args):
    """One row (params, GFLOPs per group averaged over the inputs), the row's forward, its batch."""
    scope = apis.config_scope(cfg, path)
    model = apis.build_model(cfg, style, name=path).to(args.device)
    row = dict(config=os.path.basename(path), style=style or '-',
               params_M=round(analysis.count_params(model) / 1e6, 3))
    if args.num_images:
        row['input'] = f'{args.num_images} val images'
        samples = list(apis.dataset_inputs(cfg, model, args.num_images, name=path))
    else:
        shape = tuple(args.shape) if args.shape else apis.DEFAULT_SHAPES[scope]
        row['input'] = f'{shape[1]}x{shape[0]}' + (f' x{args.batch_size}' if args.batch_size > 1 else '')
        samples = [apis.fixed_input(scope, shape, args.batch_size, args.device)]
    bar = ProgressBar(len(samples)) if args.num_images else None
    row.update(analysis.average_flops(((apis.TensorForward(model, scope, s), x.to(args.device))
                                       for x, s in samples), progress=bar.update if bar else None))
    inputs, fwd = samples[0][0].to(args.device), apis.TensorForward(model, scope, samples[0][1])
    return row, (lambda: fwd(inputs)), inputs.shape[0] if scope == 'mmpretrain' else None


def main(argv=None):
    args = parse_args(argv)
    if args.render:  # with --plot, the record's picture again
        record = read_json(args.render)
        sys.stdout.write(analysis.render_flops_record(record))
        return analysis.plot_flops_record(record, args.plot) if args.plot else record
    rows = plan(args)
    if args.sizes:
        bar = ProgressBar(len(rows) * len(args.sizes))
        command = command_line('tools/analyze_flops.py', sys.argv[1:] if argv is None else map(str, argv))
        builds = [(label, path, style, lambda c=cfg, s=style, p=path: apis.build_model(c, s, name=p).backbone)
                  for path, label, style, cfg in rows]  # each backbone built anew per size
        record = analysis.flops_growth_record(builds, args.sizes, command, bar.update)
        sys.stdout.write('\n' + analysis.render_flops_by_size(record))
        if args.out:
            write_outputs([args.out], record, analysis.render_flops_by_size(record))
        if args.plot:
            analysis.plot_flops_by_size(record, args.plot)
        return record
    measured = [measure_row(path, cfg, style, args) for path, _, style, cfg in rows]  # (row, forward, batch)
    rows = [row for row, _, _ in measured]
    if args.latency:
        analysis.add_latency(rows, [m[1] for m in measured], [m[2] for m in measured], repeat=args.repeat,
                             device=args.device)
    sys.stdout.write(analysis.flops_rows_table(rows))
    uncounted = sorted({op for r in rows for op in r['uncounted_ops'].split()})
    if uncounted:
        print(f'\nops without a FLOPs handle (not counted): {" ".join(uncounted)}')
    if args.out:
        analysis.write_flops_rows(rows, args.out)
    if args.plot:
        analysis.plot_flops_rows(rows, args.plot)
    return rows


if __name__ == '__main__':
    main()
