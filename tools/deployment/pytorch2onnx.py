"""Export a model of an mmdet / mmseg / mmpretrain config to one ONNX file, post-processing included.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out model.onnx [--dynamic]
        [--shape H W] [--style global|win|cwin|hwin] [--part model|backbone] [--opset 18]
        [--verify IMAGE [IMAGE ...]] [--batch-size 1] [--cfg-options k=v ...] [--unsafe-load]

Detectors export with their post-processing (top-k, box decoding, NMS, mask probabilities),
segmentors with the logits at the input size, classifiers with their logits; the data
preprocessor's normalisation is inside (docs/deployment.md). ``--dynamic``: one file for any
batch, height and width above a smallest size the tool prints; otherwise batch 1 at ``--shape``.
``--verify`` runs the file in onnxruntime on real images against PyTorch (same weights) and exits
non-zero where they differ beyond docs/deployment.md's tolerances.

Raises:
    SystemExit: bad arguments, a model or size that does not export (the reason and what works),
        a torch without the exporter's features, or ``--verify`` differences.
"""
import argparse

from mmengine.config import DictAction

import restv2_mm  # noqa: F401
from restv2_mm.apis import DEFAULT_SHAPES, load_config
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load, check_whole_model_checkpoint
from restv2_mm.deployment import (
    ExportError,
    OnnxInferencer,
    check_export_supported,
    compare,
    deploy_graph,
    export_onnx,
    load_images,
    load_model,
    model_metadata,
    pytorch_predict,
)
from restv2_mm.models import STYLES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', help='config file, or a stock one such as mmdet::...')
    parser.add_argument('checkpoint', nargs='?', help='whole-model checkpoint (default: random)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'),
                        help='traced input size (default: 800 1344 with --dynamic, else the '
                             'task\'s paper size)')
    parser.add_argument('--dynamic', action='store_true', help='symbolic batch, height and width')
    parser.add_argument('--style', choices=STYLES, help='rebuild the ResTv2 backbone in this style')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--verify', nargs='+', metavar='IMAGE',
                        help='images (or folders) to compare onnxruntime with PyTorch on')
    parser.add_argument('--batch-size', type=int, default=1, help='--verify batch (same-size images)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end in .onnx, got {args.out!r}')
    if args.shape and min(args.shape) < 2:
        parser.error(f'--shape H W must be >= 2, got {args.shape}')
    if args.verify and args.part == 'backbone':
        parser.error('--verify compares task predictions: use it with --part model')
    apply_unsafe_load(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        check_export_supported()  # before building anything
        if args.checkpoint:
            check_whole_model_checkpoint(args.checkpoint, load_config(args.config))
        cfg, scope, model, meta = load_model(args.config, args.checkpoint, args.style, args.cfg_options)
        graph = deploy_graph(model, scope, args.part)
        shape = args.shape or (None if args.dynamic else DEFAULT_SHAPES[scope])
        info = export_onnx(graph, args.out, shape, args.dynamic, args.opset,
                           model_metadata(cfg, scope, graph, args.config, args.checkpoint, meta))
    except (ExportError, ValueError, FileNotFoundError, RuntimeError) as e:
        raise SystemExit(f'pytorch2onnx: {e}')
    sizes = f'any batch, H >= {info["min_size"][0]}, W >= {info["min_size"][1]}' if args.dynamic \
        else f'batch 1, {info["shape"][0]}x{info["shape"][1]} only'
    print(f'{args.out}: {info["megabytes"]:.1f} MiB, exported in {info["seconds"]:.0f} s; input '
          f'images (N, 3, H, W), {sizes}; outputs {", ".join(graph.output_names)}')
    if args.verify:
        inferencer = OnnxInferencer(args.out)
        images = load_images(args.verify)
        refs = pytorch_predict(model, inferencer.pipeline, images, args.batch_size)
        reports = compare(inferencer.task, refs, inferencer.predict(images, args.batch_size),
                          inferencer.meta['limits'])
        for image, report in zip(images, reports):
            print(f'{image}: ' + ', '.join(f'{k} {v}' for k, v in report.items() if k != 'problems'))
        failed = [p for r in reports for p in r['problems']]
        if failed:
            raise SystemExit('onnxruntime differs from PyTorch: ' + '; '.join(failed))


if __name__ == '__main__':
    main()
