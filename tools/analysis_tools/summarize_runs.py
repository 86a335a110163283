"""Loss at start and end and the final metrics (mAP, mIoU, accuracy) of mmengine work dirs.

    python tools/analysis_tools/summarize_runs.py WORK_DIR [WORK_DIR ...] [--out FILE.json]
    python tools/analysis_tools/summarize_runs.py --render FILE.json

Reads the newest ``*/vis_data/scalars.json`` of each work dir (one JSON record per logged step; a
logged loss is the mean over the logging interval) and prints a line per work dir, and a note where
a run's metrics are 0 after a start from random weights (why, and which run's picture shows the
model learning); ``--out`` also keeps the summaries in a JSON file, and ``--render`` prints the
markdown table of such a file without reading any work dir (the docs' demo tables are checked
against it). See :mod:`restv2_mm.cli.runs`.

Raises:
    FileNotFoundError: a work dir without ``*/vis_data/scalars.json``.
"""
import argparse
import sys

from restv2_mm.cli import render_runs, run_line, summarize_run, zero_metrics_note
from restv2_mm.utils import read_json, write_json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='*', metavar='WORK_DIR')
    parser.add_argument('--out', metavar='FILE.json', help='also write the summaries')
    parser.add_argument('--render', metavar='FILE.json',
                        help='read nothing else: print the table of a file written with --out')
    args = parser.parse_args(argv)
    if args.render:
        print(render_runs(read_json(args.render, required=['runs'])['runs']), end='')
        return
    if not args.work_dirs:
        parser.error('give at least one WORK_DIR (or --render FILE.json)')
    runs = [summarize_run(w) for w in args.work_dirs]
    for summary in runs:
        print(run_line(summary))
    note = zero_metrics_note(runs)
    if note:
        print('note: ' + note)
    if args.out:
        write_json(args.out, dict(argv=sys.argv[1:] if argv is None else argv, runs=runs))


if __name__ == '__main__':
    main()
