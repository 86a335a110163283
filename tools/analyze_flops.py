"""Per-operator GFLOPs (Conv / Linear / Matmul / Others) and latency, per fine-tuning style.

    python tools/analyze_flops.py CONFIG [CONFIG ...] [--styles global win cwin hwin]
    (CONFIG: a file, or a stock config such as mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py;
     the paper's ablations: configs/mmpretrain/ablations/*.py, or a switch such as
     --cfg-options model.backbone.up_mode=nearest, see docs/ablations.md)
        [--shape H W | --num-images N] [--latency] [--device cpu|cuda] [--batch-size B]
        [--out FILE.{json,csv,md}] [--plot FILE.png] [--cfg-options k=v ...]
    python tools/analyze_flops.py --render FILE.json   (the table of a --out JSON; measures nothing)

GFLOPs are multiply-adds (as in the ResTv2 paper), counted by mmengine's FlopAnalyzer on the
model's tensor forward (no post-processing), with scaled_dot_product_attention counted as QK^T + AV.
Default shapes are the paper's: 1280x800 detection, 2048x512 segmentation, 224 classification.
"""
import argparse
import csv
import io
import json
import os
import sys

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

import restv2_mm  # noqa: F401
from restv2_mm.analysis import GROUPS, analyze_flops, count_params, measure_interleaved
from restv2_mm.analysis.model_io import (
    DEFAULT_SHAPES,
    TensorForward,
    build_model,
    config_scope,
    dataset_inputs,
    fixed_input,
    load_config,
)
from restv2_mm.engine import AtomicLocalBackend
from restv2_mm.models import STYLES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('configs', nargs='*', metavar='CONFIG')
    parser.add_argument('--styles', nargs='+', choices=STYLES,
                        help='rebuild the ResTv2 backbone in each style (rows side by side)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                       help='fixed input (default: the paper size for the task)')
    group.add_argument('--num-images', type=int,
                       help='average over the first N val images through the test pipeline')
    parser.add_argument('--latency', action='store_true', help='time the forward (ms)')
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per row (--latency)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch-size', type=int, default=1,
                        help='batch of the fixed-shape input (images/s for classifiers)')
    parser.add_argument('--out', help='write the rows to FILE.json, FILE.csv or FILE.md')
    parser.add_argument('--plot', help='write a PNG: stacked GFLOPs groups and latency per row')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, key=value')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the markdown table of rows written with --out')
    args = parser.parse_args(argv)
    if not args.configs and not args.render:
        parser.error('give at least one CONFIG (or --render FILE.json)')
    if args.out and os.path.splitext(args.out)[1] not in ('.json', '.csv', '.md'):
        parser.error(f'--out must end in .json, .csv or .md, got {args.out!r}')
    if args.plot and not args.plot.endswith('.png'):
        parser.error(f'--plot must end in .png, got {args.plot!r}')
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be >= 1, got {args.num_images}')
    if args.shape and min(args.shape) < 1:
        parser.error(f'--shape H W must be positive, got {args.shape}')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available on this machine')
    return args


def analyze_row(cfg, path, style, args):
    """One row (params, GFLOPs per group averaged over the images) and the row's forward."""
    scope = config_scope(cfg, path)
    model = build_model(cfg, style, name=path).to(args.device)
    row = dict(config=os.path.basename(path), style=style or '-',
               params_M=round(count_params(model) / 1e6, 3), _classifier=scope == 'mmpretrain')
    if args.num_images:
        row['input'] = f'{args.num_images} val images'
        samples = list(dataset_inputs(cfg, model, args.num_images, name=path))
        bar = ProgressBar(len(samples))
    else:
        shape = tuple(args.shape) if args.shape else DEFAULT_SHAPES[scope]
        row['input'] = f'{shape[1]}x{shape[0]}' + (f' x{args.batch_size}'
                                                   if args.batch_size > 1 else '')
        samples, bar = [fixed_input(scope, shape, args.batch_size, args.device)], None
    totals = dict.fromkeys(('total', 'backbone') + GROUPS, 0.)
    uncounted = {}
    for inputs, data_samples in samples:
        inputs = inputs.to(args.device)
        result = analyze_flops(TensorForward(model, scope, data_samples), inputs)
        totals['total'] += result['total']
        totals['backbone'] += result['by_module'].get('model.backbone', 0)
        for g in GROUPS:
            totals[g] += result['groups'][g]
        for op, n in result['uncounted'].items():
            uncounted[op] = uncounted.get(op, 0) + n
        if bar:
            bar.update()
    if bar:
        sys.stdout.write('\n')
    n = len(samples)
    row['GFLOPs'] = round(totals['total'] / n / 1e9, 3)
    row['backbone_GFLOPs'] = round(totals['backbone'] / n / 1e9, 3)
    for g in GROUPS:
        row[g] = round(totals[g] / n / 1e9, 3)
    row['uncounted_ops'] = ' '.join(sorted(uncounted))
    inputs, data_samples = samples[0]
    inputs = inputs.to(args.device)  # once, not inside the timed call
    fwd = TensorForward(model, scope, data_samples)
    return row, (lambda: fwd(inputs)), inputs.shape[0]


def add_latency(rows, forwards, args):
    """Median/min/max ms per row, measured side by side (:func:`measure_interleaved`)."""
    with torch.no_grad():
        stats = measure_interleaved([fn for fn, _ in forwards], warmup=1, repeat=args.repeat,
                                    device=args.device)
    for row, lat, (_, batch) in zip(rows, stats, forwards):
        row.update(ms_median=round(lat['median_ms'], 1), ms_min=round(lat['min_ms'], 1),
                   ms_max=round(lat['max_ms'], 1))
        if row.pop('_classifier'):
            row['images_per_s'] = round(batch / lat['median_ms'] * 1e3, 1)


def to_markdown(rows):
    keys = [k for k in rows[0] if k != 'uncounted_ops']
    lines = ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
    lines += ['| ' + ' | '.join(str(r.get(k, '')) for k in keys) + ' |' for r in rows]
    return '\n'.join(lines)


def write_out(rows, path):
    ext = os.path.splitext(path)[1]
    if ext == '.json':
        text = json.dumps(rows, indent=2)
    elif ext == '.csv':
        buffer = io.StringIO(newline='')
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        text = to_markdown(rows) + '\n'
    AtomicLocalBackend().put_text(text, path)


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    same_config = len({r['config'] for r in rows}) == 1
    labels = [r['style'] if same_config else f"{r['config'].replace('.py', '')}\n{r['style']}"
              for r in rows]
    with_latency = 'ms_median' in rows[0]
    fig, axes = plt.subplots(1, 2 if with_latency else 1, figsize=(6 + 2 * len(rows), 4.5),
                             squeeze=False)
    ax = axes[0][0]
    bottom = [0.] * len(rows)
    for g in GROUPS:
        vals = [r[g] for r in rows]
        ax.bar(labels, vals, bottom=bottom, label=g)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel('GFLOPs (multiply-adds)')
    ax.set_title(f"GFLOPs by operator group ({rows[0]['input']})"
                 + (f"\n{rows[0]['config']}" if same_config else ''))
    ax.legend()
    if with_latency:
        ax = axes[0][1]
        med = [r['ms_median'] for r in rows]
        err = [[m - r['ms_min'] for m, r in zip(med, rows)], [r['ms_max'] - m for m, r in zip(med, rows)]]
        ax.bar(labels, med, yerr=err, color='gray', capsize=4)
        ax.set_ylabel('latency (ms, median; bars min..max)')
        ax.set_title('forward latency')
    for a in axes[0]:
        a.tick_params(axis='x', labelsize=8, labelrotation=0 if same_config else 20)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            rows = json.load(f)
        print(to_markdown(rows))
        return rows
    rows, forwards = [], []
    for path in args.configs:
        cfg = load_config(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        for style in args.styles or [None]:
            row, fwd, batch = analyze_row(cfg, path, style, args)
            rows.append(row)
            forwards.append((fwd, batch))
    if args.latency:
        add_latency(rows, forwards, args)
    else:
        for row in rows:
            row.pop('_classifier')
    print(to_markdown(rows))
    uncounted = sorted({op for r in rows for op in r['uncounted_ops'].split()})
    if uncounted:
        print(f'\nops without a FLOPs handle (not counted): {" ".join(uncounted)}')
    if args.out:
        write_out(rows, args.out)
    if args.plot:
        plot(rows, args.plot)
    return rows


if __name__ == '__main__':
    main()
