"""Export time, file size and onnxruntime vs PyTorch CPU latency of task models, as JSON and a table.

    python tools/deployment/benchmark_onnx.py CONFIG [CONFIG ...] --out FILE.json
        [--repeat 5] [--warmup 1] [--work-dir work_dirs/onnx_benchmark] [--data DIR]
    python tools/deployment/benchmark_onnx.py --render FILE.json

Each config's model (random weights) is exported with --dynamic and timed end to end, file and
post-processing against ``model.test_step``, in interleaved rounds on one real image of its task
(restv2_mm.deployment.SAMPLE_IMAGES under --data, default $RESTV2_DATA or ../shared/data), ms median
[min, max]. ``--render`` prints the table of a record without measuring (docs/deployment.md).
"""
import argparse
import os
import os.path as osp
import sys

import restv2_mm  # noqa: F401
from restv2_mm.deployment import (
    RECORD_KEYS,
    SAMPLE_IMAGES,
    benchmark_model,
    benchmark_record,
    load_model,
    render_benchmark,
)
from restv2_mm.utils import read_json, write_json

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('configs', nargs='*')
    parser.add_argument('--out', help='the JSON record to write')
    parser.add_argument('--render', metavar='FILE.json', help='print the table of a record')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--work-dir', default='work_dirs/onnx_benchmark', help='where the files go')
    parser.add_argument('--data', help='data root (default: $RESTV2_DATA, else ../shared/data)',
                        default=os.environ.get('RESTV2_DATA', osp.join(REPO, '..', 'shared', 'data')))
    args = parser.parse_args(argv)
    if args.render:
        print(render_benchmark(read_json(args.render, RECORD_KEYS)), end='')
        return
    if not args.configs or not (args.out or '').endswith('.json'):
        parser.error('CONFIG ... and --out FILE.json are required (or --render FILE.json)')
    rows = []
    for config in args.configs:
        cfg, scope, model, _ = load_model(config)
        image = osp.join(args.data, SAMPLE_IMAGES[scope])
        path = osp.join(args.work_dir, osp.splitext(osp.basename(config))[0] + '.onnx')
        rows.append(benchmark_model(model, cfg, scope, config, image, path, args.repeat, args.warmup))
        print(render_benchmark(benchmark_record(rows, [])).splitlines()[-3], flush=True)
        write_json(args.out, benchmark_record(rows, sys.argv[1:] if argv is None else argv))
    print(render_benchmark(read_json(args.out)), end='')


if __name__ == '__main__':
    main()
