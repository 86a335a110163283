"""Predict with an exported file in onnxruntime and draw the predictions, optionally beside PyTorch's.

    python tools/deployment/onnx_inference.py FILE.onnx IMAGE [IMAGE ...] --out DIR
        [--score-thr 0.3] [--batch-size 1] [--threads N]
        [--pytorch CONFIG CHECKPOINT] [--unsafe-load]

IMAGE may be a folder (its .jpg/.png/.bmp files). For each image, DIR/NAME.png draws the file's
predictions (the config's visualizer; detections with score >= --score-thr) and DIR/predictions.json
keeps them (boxes in original pixels). ``--pytorch`` also runs the config's model on the same
weights: DIR/NAME_pytorch.png beside, DIR/parity.json with the comparison (docs/deployment.md's
criteria), and a non-zero exit where they differ.

Raises:
    SystemExit: a missing file or image, a file this tool cannot run (a bare backbone), or
        ``--pytorch`` differences.
"""
import argparse
import os.path as osp

import restv2_mm  # noqa: F401
from restv2_mm.cli import add_unsafe_load_arg, apply_unsafe_load
from restv2_mm.deployment import (
    OnnxInferencer,
    compare,
    draw,
    load_images,
    load_model,
    pytorch_predict,
    summarize,
)
from restv2_mm.utils import write_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('onnx', help='a file written by tools/deployment/pytorch2onnx.py')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--out', required=True, help='folder for the pictures and JSON files')
    parser.add_argument('--score-thr', type=float, default=0.3, help='draw detections from this score')
    parser.add_argument('--batch-size', type=int, default=1, help='batch of same-size images')
    parser.add_argument('--threads', type=int, help="onnxruntime's intra-op threads")
    parser.add_argument('--pytorch', nargs=2, metavar=('CONFIG', 'CHECKPOINT'),
                        help='also predict with PyTorch, draw it beside and compare')
    add_unsafe_load_arg(parser)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    apply_unsafe_load(args)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        inferencer = OnnxInferencer(args.onnx, num_threads=args.threads)
        images = load_images(args.images)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'onnx_inference: {e}')
    meta = inferencer.meta
    classes = meta['dataset_meta'].get('classes')
    samples = inferencer.predict(images, args.batch_size)
    refs = None
    if args.pytorch:
        model = load_model(*args.pytorch)[2]
        refs = pytorch_predict(model, inferencer.pipeline, images, args.batch_size)
    record, parity = {}, {}
    reports = compare(inferencer.task, refs, samples, meta['limits']) if refs else [None] * len(images)
    for image, sample, ref, report in zip(images, samples, refs or [None] * len(images), reports):
        stem = osp.join(args.out, osp.splitext(osp.basename(image))[0])
        draw(meta, image, sample, f'{stem}.png', args.score_thr, 'onnxruntime')
        record[image] = summarize(inferencer.task, sample, classes, args.score_thr)
        line = f'{image}: {stem}.png'
        if report is not None:
            draw(meta, image, ref, f'{stem}_pytorch.png', args.score_thr, 'pytorch')
            parity[image] = report
            line += f' (PyTorch: {stem}_pytorch.png; ' + ('matches' if report['ok'] else
                                                           '; '.join(report['problems'])) + ')'
        print(line)
    write_json(osp.join(args.out, 'predictions.json'), record)
    if parity:
        write_json(osp.join(args.out, 'parity.json'), parity)
        failed = [image for image, report in parity.items() if not report['ok']]
        if failed:
            raise SystemExit(f'onnxruntime differs from PyTorch on {len(failed)} of {len(images)} images')


if __name__ == '__main__':
    main()
