"""Training-step time and activation memory of each gradient-checkpointing policy.

    python tools/analysis_tools/checkpoint_policies.py [--models restv2-t rmt-t] [--repeat 5]
        [--warmup 1] [--policies none full gemm narrow early attention] [--out FILE.json]
    python tools/analysis_tools/checkpoint_policies.py --render FILE.json

The rows, what they time and how memory is measured are :mod:`restv2_mm.analysis.policy_benchmark`'s
(each row's memory in a fresh process: this script with ``--worker``). The table goes to stdout;
``--out`` also keeps the rows (as docs/checkpoint_policies_cpu.json: machine, torch, ``MALLOC_*``
settings, argv and one point per row); ``--render`` prints the table of such a file without
measuring (the docs' table is checked against it).

Raises:
    SystemExit: bad arguments (argparse), or ``with_cp='selective'`` on torch < 2.4.
"""
import argparse
import functools
import sys

from restv2_mm.analysis import (
    POLICIES,
    POLICY_MODELS,
    measurement_context,
    memory_in_fresh_process,
    policy_step_memory,
    render_policies,
    report_memory,
    run_policies,
)
from restv2_mm.models import selective_available
from restv2_mm.utils import read_json, write_json


def in_worker(model_name, policy, warmup):
    return memory_in_fresh_process([__file__, '--worker', model_name, policy, str(warmup)],
                                   f'{model_name} {policy}')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--worker':  # MODEL POLICY WARMUP: one memory figure, in a fresh process
        report_memory(policy_step_memory(argv[1], argv[2], int(argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(POLICY_MODELS), choices=list(POLICY_MODELS))
    parser.add_argument('--policies', nargs='+', default=list(POLICIES), choices=POLICIES)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--out', help='also write the rows (.json)')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the table of a file written with --out')
    args = parser.parse_args(argv)
    if args.render:
        print(render_policies(read_json(args.render, required=('argv', 'points'))), end='')
        return
    if 'none' not in args.policies:
        parser.error("--policies needs 'none' (the base of the ratios)")
    if set(args.policies) - {'none', 'full'} and not selective_available():
        parser.error("the selective policies need torch >= 2.4")
    memory = functools.partial(in_worker, warmup=args.warmup)
    record = dict(measurement_context('cpu'), argv=argv,
                  points=run_policies(args.models, args.policies, args.repeat, args.warmup, memory))
    print(render_policies(record), end='')
    if args.out:
        write_json(args.out, record)


if __name__ == '__main__':
    main()
