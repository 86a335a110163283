"""Which stock mmdet / mmseg frameworks take our backbones: every config family, one config each,
ResTv2-T and RMT-T swapped in (tools/misc/swap_backbone.py), one training step and one inference
on the CPU at a small input (synthetic images and labels), the outcome recorded per entry.

    python tools/analysis_tools/compat_matrix.py --out docs/compatibility.json
        [--families rtmdet mmseg/segformer ...] [--backbones restv2-tiny rmt-tiny]
        [--size 128] [--jobs 1] [--timeout 1200] [--redo]
    python tools/analysis_tools/compat_matrix.py --render docs/compatibility.json [--summary]

The record is written after every entry: an interrupted run continues where it stopped (--redo
runs the selected entries again). Long (each entry builds two models); `make matrix` runs it under
`nice` and rewrites the tables of docs/compatibility.md and README.md. --render measures nothing.
"""
import argparse
import sys

from restv2_mm.apis import SWAP_BACKBONES
from restv2_mm.cli import (
    MATRIX_BACKBONES,
    MATRIX_RECORD_KEYS,
    MATRIX_SIZE,
    matrix_entries,
    matrix_summary,
    render_matrix,
    run_matrix,
)
from restv2_mm.utils import read_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--out', metavar='FILE.json', help='the record to write (and resume)')
    parser.add_argument('--families', nargs='+', metavar='FAMILY',
                        help='only these families (a folder name, or LIBRARY/FOLDER)')
    parser.add_argument('--backbones', nargs='+', default=list(MATRIX_BACKBONES),
                        choices=sorted(SWAP_BACKBONES), metavar='NAME',
                        help=f'our backbones to swap in (default: {" ".join(MATRIX_BACKBONES)})')
    parser.add_argument('--size', type=int, default=MATRIX_SIZE,
                        help='input side in pixels (families that need more have their own)')
    parser.add_argument('--jobs', type=int, default=1, help='entries run at the same time')
    parser.add_argument('--timeout', type=float, default=1200, help='seconds per entry')
    parser.add_argument('--redo', action='store_true', help='run entries already recorded again')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the tables of a record')
    parser.add_argument('--summary', action='store_true',
                        help='with --render: print the one-line summary instead')
    args = parser.parse_args(argv)
    if not args.render and not (args.out and args.out.endswith('.json')):
        parser.error('give --out FILE.json (or --render FILE.json)')
    if args.summary and not args.render:
        parser.error('--summary goes with --render FILE.json')
    if args.jobs < 1:
        parser.error(f'--jobs must be at least 1, got {args.jobs}')
    if args.size < 32:
        parser.error(f'--size must be at least 32 (a stride-32 level of one pixel), got {args.size}')
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.render:
        record = read_json(args.render, MATRIX_RECORD_KEYS)
        entries = matrix_entries()  # those of the installed libraries not in the record are listed
        print(matrix_summary(record, entries=entries) if args.summary else render_matrix(record, entries),
              end='')
        return
    entries = matrix_entries(only=args.families)
    if not entries:
        raise SystemExit(f'--families {args.families}: no such family in mmdet or mmseg')
    run_matrix(entries, args.out, argv, backbones=args.backbones, size=args.size,
               timeout=args.timeout, redo=args.redo, jobs=args.jobs)


if __name__ == '__main__':
    main()
