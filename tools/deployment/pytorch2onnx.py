"""Export a model of an mmpretrain / mmseg / mmdet config (or its backbone) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx
        [--part model|backbone] [--shape H W] [--dynamic] [--style global|win|cwin|hwin]
        [--opset 18] [--verify H W [H W ...]] [--latency] [--repeat 5] [--report FILE.json]
        [--cfg-options k=v ...] [--unsafe-load]
    python tools/deployment/pytorch2onnx.py --render FILE.json

What is exported is the tensor forward: classifiers give logits (N, 1000); segmentors the decode
head's logits (N, classes, H/4, W/4); ``--part backbone`` the backbone's tuple of (N, C_i, H_i, W_i)
maps. The export runs torch's dynamo-based exporter on the plain-PyTorch reference path
(``restv2_mm.ops.fast_path(False)``: explicit attention, no fused CPU kernels). With ``--dynamic``
the input's height and width are symbolic: one file runs at any H, W (not only multiples of 32 or
of the window size) above a small bound that the tool prints (17 or 33 pixels for ResTv2-T,
depending on the style: docs/deployment.md).
``--verify`` runs the file in onnxruntime (CPU) at the given sizes and checks the largest
difference from PyTorch (1e-4); with ``--latency`` it also times onnxruntime and PyTorch (fast path,
``no_grad``) side by side at each of those sizes (ms, median of ``--repeat`` interleaved rounds after
one warm-up). ``--report`` keeps those rows in a JSON file (one entry per config, part and style) and
``--render`` prints its table without measuring (docs/deployment.md's table is checked against it).
Detection models do not export: see docs/deployment.md.

Raises:
    SystemExit: bad arguments, a torch without the dynamo exporter (tested on 2.14), or ``--verify``
        differences above 1e-4.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
import tempfile
import time

import numpy as np
import torch
from mmengine.config import DictAction

import restv2_mm  # noqa: F401
from restv2_mm import ops
from restv2_mm.analysis import machine_name, measure_interleaved
from restv2_mm.apis import (
    DEFAULT_SHAPES,
    TensorForward,
    build_model,
    config_scope,
    load_config,
)
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load, check_whole_model_checkpoint
from restv2_mm.models import STYLES
from restv2_mm.utils import has_dynamo_onnx_export

TOLERANCE = 1e-4


class Exported(torch.nn.Module):
    """The part to export, as ``forward(x) -> tensor or tuple of tensors``."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor):
        out = self.module(x)
        return tuple(out) if isinstance(out, (list, tuple)) else out


def build(args) -> torch.nn.Module:
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = config_scope(cfg, args.config)
    if scope == 'mmdet' and args.part == 'model':
        raise SystemExit('pytorch2onnx: Mask R-CNN does not export with this stack (mmdet 3.3\'s '
                         'ONNX branch imports the removed mmdet.core; torch.export stops at the '
                         'data-dependent proposal count; mmcv NMS/RoIAlign are C++ extension '
                         'calls): see docs/deployment.md. Export the backbone with --part backbone.')
    model = build_model(cfg, args.style, name=args.config)
    if args.checkpoint:
        from mmengine.runner import load_checkpoint
        check_whole_model_checkpoint(args.checkpoint, cfg)
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    part = model.backbone if args.part == 'backbone' else TensorForward(model, scope)
    if args.dynamic:
        pools = [name for name, m in part.named_modules()
                 if isinstance(m, (torch.nn.AdaptiveAvgPool2d, torch.nn.AdaptiveMaxPool2d))
                 and m.output_size not in (1, (1, 1))]
        if pools:  # e.g. UPerHead's pyramid pooling: its exported gather indices are size-specific
            raise SystemExit(f'pytorch2onnx: --dynamic cannot export adaptive pooling to sizes > 1 '
                             f'({pools[0]}, ...): the exporter bakes in indices for the traced size. '
                             f'Export at a fixed --shape H W instead (docs/deployment.md).')
    return Exported(part).eval()


def export_program(module: torch.nn.Module, x: torch.Tensor, dynamic: bool):
    """``torch.export`` of ``module`` at ``x`` on the reference path; with ``dynamic``, height and
    width symbolic from the smallest size the graph allows (found by asking torch.export, which
    names the bound: the exporter cannot prove some shape facts below it, e.g. that a stage has
    more than one row) up to 16384.

    Returns:
        (ExportedProgram, (min_h, min_w) or None).
    """
    import torch.fx.experimental._config as fx_config
    low = [2, 2]  # torch.export specialises sizes 0 and 1
    while True:
        shapes = None
        if dynamic:
            shapes = {'x': {2: torch.export.Dim('height', min=low[0], max=16384),
                            3: torch.export.Dim('width', min=low[1], max=16384)}}
        try:
            # Size-oblivious reasoning: a size of 1 is not assumed special, so the graph stays
            # general; remaining checks become runtime asserts rather than specialisations.
            with ops.fast_path(False), torch.no_grad(), \
                    fx_config.patch(backed_size_oblivious=True):
                program = torch.export.export(module, (x, ), dynamic_shapes=shapes, strict=False,
                                              prefer_deferred_runtime_asserts_over_guards=True)
            return program, (tuple(low) if dynamic else None)
        except Exception as e:  # a constraint violation names the smallest valid size
            bounds = re.findall(r"(\d+) <= L\['x'\]\.size\(\)\[(2|3)\]", str(e))
            new = list(low)
            for value, dim in bounds:
                new[int(dim) - 2] = max(new[int(dim) - 2], int(value))
            if not dynamic or new == low or max(new) > min(x.shape[2:]):
                raise
            low = new


def export(module: torch.nn.Module, x: torch.Tensor, path: str, dynamic: bool, opset: int):
    """Write ``module`` at input ``x`` to ``path`` through a temporary file (never a half file).

    Returns:
        The smallest (H, W) the file accepts with ``dynamic``, else None.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    program, low = export_program(module, x, dynamic)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.onnx', dir=folder)
    os.close(fd)
    try:
        onnx_program = torch.onnx.export(program, (x, ), dynamo=True, opset_version=opset,
                                         input_names=['input'], external_data=False,
                                         verbose=False)
        onnx_program.save(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return low


def verify(module: torch.nn.Module, path: str, sizes, latency: bool = False,
           repeat: int = 5) -> list:
    """onnxruntime (CPU) against PyTorch at each (H, W) of ``sizes``, printed a line each.

    Returns:
        One dict per size: ``input`` ('HxW'), ``max_abs_diff`` (the largest absolute difference
        over the outputs), and with ``latency`` ``onnxruntime_ms`` and ``pytorch_ms`` (median, min,
        max of ``repeat`` interleaved rounds after one warm-up, ms).
    """
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    rows = []
    for h, w in sizes:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            want = module(x)
        want = want if isinstance(want, tuple) else (want, )
        got = session.run(None, {name: x.numpy()})
        diff = max(float(np.abs(g - t.numpy()).max()) for g, t in zip(got, want))
        row = dict(input=f'{h}x{w}', max_abs_diff=diff)
        line = (f'{h}x{w}: onnxruntime vs PyTorch max abs diff {diff:.2e} '
                f'({", ".join(str(tuple(g.shape)) for g in got)})')
        if latency:
            feed = {name: x.numpy()}
            with torch.no_grad():
                ort_ms, torch_ms = measure_interleaved(
                    [lambda: session.run(None, feed), lambda: module(x)], warmup=1, repeat=repeat)
            row.update(onnxruntime_ms=[ort_ms[k] for k in ('median_ms', 'min_ms', 'max_ms')],
                       pytorch_ms=[torch_ms[k] for k in ('median_ms', 'min_ms', 'max_ms')])
            line += (f'; latency ms (median [min, max] of {repeat}): onnxruntime '
                     f'{ort_ms["median_ms"]:.1f} [{ort_ms["min_ms"]:.1f}, {ort_ms["max_ms"]:.1f}], '
                     f'PyTorch {torch_ms["median_ms"]:.1f} [{torch_ms["min_ms"]:.1f}, '
                     f'{torch_ms["max_ms"]:.1f}], ratio {ort_ms["median_ms"] / torch_ms["median_ms"]:.2f}')
        print(line, flush=True)
        rows.append(row)
    return rows


def write_report(path: str, entry: dict) -> None:
    """Add ``entry`` (one export and its --verify rows) to the JSON report at ``path``, replacing
    an entry of the same config, part and style; written through a temporary file."""
    data = dict(entries=[])
    if osp.isfile(path):
        with open(path) as f:
            data = json.load(f)
    key = ('config', 'part', 'style')
    data['entries'] = [e for e in data['entries']
                       if tuple(e[k] for k in key) != tuple(entry[k] for k in key)] + [entry]
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def render(data: dict) -> str:
    """Markdown table of a --report file (one row per export and size), then the machines."""
    def ms(v):
        return '-' if v is None else f'{v[0]:.0f} [{v[1]:.0f}, {v[2]:.0f}]'
    lines = ['| config | part | style | input | max abs diff | onnxruntime ms | PyTorch ms | ratio '
             '| smallest input |', '|---|---|---|---|---|---|---|---|---|']
    machines = []
    for e in data['entries']:
        low = 'static' if e['smallest'] is None else f'{e["smallest"][0]}x{e["smallest"][1]}'
        for r in e['rows']:
            ort_ms, torch_ms = r.get('onnxruntime_ms'), r.get('pytorch_ms')
            ratio = '-' if ort_ms is None else f'{ort_ms[0] / torch_ms[0]:.2f}'
            lines.append(f'| {osp.basename(e["config"])} | {e["part"]} | {e["style"] or "-"} | '
                         f'{r["input"]} | {r["max_abs_diff"]:.1e} | {ms(ort_ms)} | {ms(torch_ms)} | '
                         f'{ratio} | {low} |')
        machine = f'{e["machine"]}; torch {e["torch"]}, onnxruntime {e["onnxruntime"]}'
        if machine not in machines:
            machines.append(machine)
    return '\n'.join(lines + [''] + [f'Machine: {m}.' for m in machines]) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', nargs='?', help='config file, or a stock one such as mmpretrain::...')
    parser.add_argument('checkpoint', nargs='?', help='whole-model checkpoint (default: random)')
    parser.add_argument('--out', help='the .onnx file to write')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='export input size (default: the task\'s paper size)')
    parser.add_argument('--dynamic', action='store_true', help='symbolic input height and width')
    parser.add_argument('--style', choices=STYLES, help='rebuild the ResTv2 backbone in this style')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--verify', nargs='+', type=int, metavar='H W',
                        help='check onnxruntime against PyTorch at these sizes (pairs)')
    parser.add_argument('--latency', action='store_true',
                        help='with --verify: time onnxruntime and PyTorch side by side')
    parser.add_argument('--repeat', type=int, default=5, help='timed rounds (--latency)')
    parser.add_argument('--report', metavar='FILE.json',
                        help='with --verify: add the rows to FILE.json (same config/part/style '
                             'replaced)')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the table of a --report file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    if args.render:
        return args
    if not args.config or not args.out:
        parser.error('CONFIG and --out are required (or --render FILE.json)')
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end in .onnx, got {args.out!r}')
    if args.shape and min(args.shape) < 2:
        parser.error(f'--shape H W must be >= 2, got {args.shape}')
    if args.verify and len(args.verify) % 2:
        parser.error('--verify takes pairs H W')
    if args.latency and not args.verify:
        parser.error('--latency needs --verify H W (the sizes to time)')
    if args.report and not (args.verify and args.report.endswith('.json')):
        parser.error(f'--report needs --verify and a .json file, got {args.report!r}')
    if args.verify and not args.dynamic and len(args.verify) > 2:
        parser.error('--verify at several sizes needs --dynamic (a static file has one size)')
    apply_unsafe_load(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            print(render(json.load(f)), end='')
        return
    if not has_dynamo_onnx_export():
        raise SystemExit(f'pytorch2onnx: ONNX export needs torch.export with size-oblivious shapes '
                         f'and torch.onnx.export(dynamo=True), which this torch {torch.__version__} '
                         f'lacks; it is tested on torch 2.14 (requirements/pinned.txt).')
    module = build(args)
    scope = config_scope(load_config(args.config), args.config)
    # A dynamic graph is traced at a size where every stage has several windows (the symbolic
    # shapes then cover the one-window case too); tracing runs on fake tensors, so size is free.
    shape = tuple(args.shape) if args.shape else (800, 1344) if args.dynamic else \
        DEFAULT_SHAPES[scope]
    start = time.perf_counter()
    low = export(module, torch.randn(1, 3, *shape), args.out, args.dynamic, args.opset)
    sizes = f'any H >= {low[0]}, W >= {low[1]}' if low else f'{shape[0]}x{shape[1]} only'
    print(f'{args.out}: {osp.getsize(args.out) / 2**20:.1f} MB, exported in '
          f'{time.perf_counter() - start:.0f} s; input (N, 3, H, W), {sizes}')
    if args.verify:
        sizes = list(zip(args.verify[::2], args.verify[1::2]))
        rows = verify(module, args.out, sizes, args.latency, args.repeat)
        if args.report:
            import onnxruntime
            write_report(args.report, dict(
                config=args.config, part=args.part, style=args.style, dynamic=args.dynamic,
                smallest=low, rows=rows, machine=machine_name('cpu'), torch=torch.__version__,
                onnxruntime=onnxruntime.__version__, argv=sys.argv[1:] if argv is None else argv))
        worst = max(r['max_abs_diff'] for r in rows)
        if worst > TOLERANCE:
            sys.exit(f'onnxruntime differs from PyTorch by {worst:.2e} > {TOLERANCE}')


if __name__ == '__main__':
    main()
