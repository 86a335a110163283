"""Export a model of an mmpretrain / mmseg / mmdet config (or its backbone) to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx
        [--part model|backbone] [--shape H W] [--dynamic] [--style global|win|cwin|hwin]
        [--opset 18] [--verify H W [H W ...]] [--latency] [--repeat 5]
        [--cfg-options k=v ...] [--unsafe-load]

What is exported is the tensor forward: classifiers give logits (N, 1000); segmentors the decode
head's logits (N, classes, H/4, W/4); ``--part backbone`` the backbone's tuple of (N, C_i, H_i, W_i)
maps. The export runs torch's dynamo-based exporter on the plain-PyTorch reference path
(``restv2_mm.ops.fast_path(False)``: explicit attention, no fused CPU kernels). With ``--dynamic``
the input's height and width are symbolic: one file runs at any H, W (not only multiples of 32 or
of the window size) above a small bound that the tool prints (17 for Global; larger for the window
styles, whose windows must not all fall at the image edge, see docs/deployment.md).
``--verify`` runs the file in onnxruntime (CPU) at the given sizes and checks the largest
difference from PyTorch (1e-4); with ``--latency`` it also times onnxruntime and PyTorch (fast path,
``no_grad``) side by side at each of those sizes (ms, median of ``--repeat`` interleaved rounds after
one warm-up). Detection models do not export: see docs/deployment.md.

Raises:
    SystemExit: bad arguments, a torch without the dynamo exporter (tested on 2.14), or ``--verify``
        differences above 1e-4.
"""
import argparse
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
from restv2_mm.analysis import measure_interleaved
from restv2_mm.analysis.model_io import (
    DEFAULT_SHAPES,
    TensorForward,
    build_model,
    config_scope,
    load_config,
)
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load, check_whole_model_checkpoint
from restv2_mm.models import STYLES
from restv2_mm.utils.torch_compat import has_dynamo_onnx_export

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
           repeat: int = 5) -> float:
    """Largest absolute difference between onnxruntime (CPU) and PyTorch over ``sizes``; with
    ``latency``, both timed side by side at each size (ms)."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    worst = 0.
    for h, w in sizes:
        x = torch.randn(1, 3, h, w)
        with torch.no_grad():
            want = module(x)
        want = want if isinstance(want, tuple) else (want, )
        got = session.run(None, {name: x.numpy()})
        diff = max(float(np.abs(g - t.numpy()).max()) for g, t in zip(got, want))
        line = (f'{h}x{w}: onnxruntime vs PyTorch max abs diff {diff:.2e} '
                f'({", ".join(str(tuple(g.shape)) for g in got)})')
        if latency:
            feed = {name: x.numpy()}
            with torch.no_grad():
                ort_ms, torch_ms = measure_interleaved(
                    [lambda: session.run(None, feed), lambda: module(x)], warmup=1, repeat=repeat)
            line += (f'; latency ms (median [min, max] of {repeat}): onnxruntime '
                     f'{ort_ms["median_ms"]:.1f} [{ort_ms["min_ms"]:.1f}, {ort_ms["max_ms"]:.1f}], '
                     f'PyTorch {torch_ms["median_ms"]:.1f} [{torch_ms["min_ms"]:.1f}, '
                     f'{torch_ms["max_ms"]:.1f}], ratio {ort_ms["median_ms"] / torch_ms["median_ms"]:.2f}')
        print(line, flush=True)
        worst = max(worst, diff)
    return worst


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', help='config file, or a stock one such as mmpretrain::...')
    parser.add_argument('checkpoint', nargs='?', help='whole-model checkpoint (default: random)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end in .onnx, got {args.out!r}')
    if args.shape and min(args.shape) < 2:
        parser.error(f'--shape H W must be >= 2, got {args.shape}')
    if args.verify and len(args.verify) % 2:
        parser.error('--verify takes pairs H W')
    if args.latency and not args.verify:
        parser.error('--latency needs --verify H W (the sizes to time)')
    if args.verify and not args.dynamic and len(args.verify) > 2:
        parser.error('--verify at several sizes needs --dynamic (a static file has one size)')
    apply_unsafe_load(args)
    return args


def main(argv=None):
    args = parse_args(argv)
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
        worst = verify(module, args.out, sizes, args.latency, args.repeat)
        if worst > TOLERANCE:
            sys.exit(f'onnxruntime differs from PyTorch by {worst:.2e} > {TOLERANCE}')


if __name__ == '__main__':
    main()
