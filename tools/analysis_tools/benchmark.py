"""Latency and activation memory of ResTv2 against the eager reference and other backbones.

    python tools/analysis_tools/benchmark.py [--suites reference train rmt models styles] [--only REGEX]
                              [--official-rmt DIR] [--device cpu|cuda]
                              [--repeat 5] [--warmup 1] [--dtypes fp32 bf16 fp16]
                              [--compile] [--channels-last] [--no-memory] [--out FILE.md FILE.json]
                              [--configs CONFIG ... [--cfg-options k=v ...]]
    python tools/analysis_tools/benchmark.py --render FILE.json [--out FILE.md]

The suites' rows are :mod:`restv2_mm.apis.benchmark`'s; they are timed and rendered by
:mod:`restv2_mm.analysis.benchmark`. ``--out FILE.json`` keeps the machine, torch version,
``MALLOC_*`` settings, command and rows; ``--render`` turns such a file back into its table without
measuring anything (the docs' tables are checked against it by tests/test_docs/test_tables.py).
Memory is measured in a fresh process per row (this script with ``--worker``): CUDA max allocated
on GPU, peak RSS on CPU (:mod:`restv2_mm.analysis.memory`). Ratios are against the row marked
``base`` of each group.

The ``rmt`` suite's official rows run the official code of a checkout of github.com/qhfan/RMT
(``--official-rmt`` or ``$RESTV2_OFFICIAL_RMT``) through tests/official_rmt.py of this repository
(the installed package never runs third-party files); without either only our rows run, and a
message says so.

Raises:
    SystemExit: bad arguments (argparse), ``--device cuda`` without CUDA, or fp16/bf16 on CPU.
"""
import argparse
import functools
import json
import os.path as osp
import runpy
import sys

import torch
from mmengine.config import DictAction

from restv2_mm.analysis import (
    measurement_context,
    memory_in_fresh_process,
    render_benchmark,
    report_memory,
    run_benchmark,
)
from restv2_mm.apis import (
    SUITES,
    benchmark_row_memory,
    benchmark_rows,
    build_benchmark_row,
    memory_columns,
)
from restv2_mm.utils import read_json, write_outputs

# The development checkout's loader of the official RMT code (absent from an installed package).
OFFICIAL_LOADER = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tests',
                           'official_rmt.py')
render = render_benchmark  # the page of a record (tests/test_docs/test_tables.py)


def official_rmt():
    """The official RMT loader's names, or None where this is no development checkout."""
    return runpy.run_path(OFFICIAL_LOADER) if osp.isfile(OFFICIAL_LOADER) else None


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suites', nargs='+', choices=SUITES,
                        help='default: all, or none where --configs is given')
    parser.add_argument('--only', metavar='REGEX',
                        help="run only the rows whose 'group: name' matches (re.search), e.g. "
                             "'^RMT-T' or '^(Mask R-CNN|UperNet).*: (ResTv2-T|RMT-T|Swin-T)$'")
    parser.add_argument('--official-rmt', metavar='DIR',
                        help='checkout of github.com/qhfan/RMT for the rmt suite '
                             '(default: $RESTV2_OFFICIAL_RMT)')
    parser.add_argument('--configs', nargs='+', default=[], metavar='CONFIG',
                        help='also time the whole model of each config, side by side')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every --configs config, key=value')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--repeat', type=int, default=5, help='timed rounds (median, min, max)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards per row first')
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=['fp32', 'bf16', 'fp16'],
                        help='autocast dtypes (GPU); memory is measured in fp32')
    parser.add_argument('--compile', action='store_true', help='add torch.compile rows of ours')
    parser.add_argument('--channels-last', action='store_true',
                        help='run every row with channels-last model and input')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory workers')
    parser.add_argument('--out', nargs='+', default=[],
                        help='also write the table (.md) and/or the rows (.json)')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print (and --out FILE.md) the table of a JSON written before')
    args = parser.parse_args(argv)
    if args.suites is None:
        args.suites = [] if args.configs else list(SUITES)
    if args.cfg_options and not args.configs:
        parser.error('--cfg-options applies to --configs; give the configs')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    if args.device == 'cpu' and set(args.dtypes) - {'fp32'}:
        parser.error('--dtypes bf16/fp16 are for --device cuda; on the CPU use fp32')
    if any(not out.endswith(('.md', '.json')) for out in args.out):
        parser.error('--out files must end in .md or .json')
    if args.repeat < 1 or args.warmup < 0:
        parser.error('--repeat must be >= 1 and --warmup >= 0')
    return args


def run(args, official=None):
    """The rows of ``args``' suites, timed (``official``: the loader of :func:`official_rmt`)."""
    root = official['official_root'](args.official_rmt) if official else None
    if 'rmt' in args.suites and root is None:
        print('rmt suite: no official RMT checkout (--official-rmt or $RESTV2_OFFICIAL_RMT: a clone '
              'of github.com/qhfan/RMT, and tests/official_rmt.py of a restv2-mm checkout); only our '
              'rows run', file=sys.stderr)
    try:
        rows = benchmark_rows(args.suites, args.device, args.configs, args.cfg_options, root,
                              args.only)
    except ValueError as e:
        raise SystemExit(str(e))

    def in_worker(row, mode):
        return memory_in_fresh_process([__file__, '--worker', json.dumps(row), mode, args.device],
                                       f'{row["name"]} ({mode})')
    build = functools.partial(build_benchmark_row, device=args.device,
                              official_pair=official['official_rmt_pair'] if official else None)
    memory = None if args.no_memory else functools.partial(memory_columns, measure=in_worker)
    return run_benchmark(rows, build, device=args.device, dtypes=args.dtypes, repeat=args.repeat,
                         warmup=args.warmup, compile=args.compile, channels_last=args.channels_last,
                         memory=memory)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--worker':  # ROW_JSON MODE DEVICE: one memory figure, in a fresh process
        row, mode, device = json.loads(argv[1]), argv[2], argv[3]
        official = official_rmt() if row.get('official_root') else None
        report_memory(benchmark_row_memory(row, mode, device, official and official['official_rmt_pair']))
        return
    args = parse_args(argv)
    if args.render:
        record = read_json(args.render, required=('argv', 'rows'))
    else:
        record = dict(measurement_context(args.device), argv=argv, rows=run(args, official_rmt()))
    page = render_benchmark(record)
    print(page, end='')
    write_outputs(args.out, record, page)


if __name__ == '__main__':
    main()
