"""Where a ResTv2-T backbone forward spends its time, and the kernel choices behind it.

    python tools/analysis_tools/profile_restv2.py [--shape 800 1344] [--batch 1] [--micro] [--eager]
    python tools/analysis_tools/profile_restv2.py --ablate --shape 224 224 --batch 8

Prints the torch.profiler table (self CPU time by op) of one no-grad forward of the ResTv2-T
backbone (``--eager``: the eager reference of :mod:`restv2_mm.analysis.eager_reference`), and with
``--micro`` first the side-by-side timings behind the choices in ``docs/performance.md``
(:func:`restv2_mm.analysis.restv2_kernel_timings`: fused oneDNN linear+GELU and linear+add against
the plain ops at stage 1 of an 800x1344 input, and the Up(V) branch of each stage in NCHW against
channels-last; best of 10, ms). ``--ablate`` prints instead the forward's median ms with every
fast path on, each one left out, all off, and the eager reference, side by side
(:func:`restv2_mm.analysis.fast_path_ablation`).
"""
import argparse

import torch

from restv2_mm.analysis import (
    eager_forward,
    fast_path_ablation,
    render_fast_path_ablation,
    render_restv2_kernel_timings,
    restv2_kernel_timings,
    top_ops,
)
from restv2_mm.models import ResTv2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', nargs=2, type=int, default=[800, 1344], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=1, help='images per forward')
    parser.add_argument('--micro', action='store_true', help='kernel comparisons too')
    parser.add_argument('--ablate', action='store_true',
                        help='time the forward with each fast path left out (no profile)')
    parser.add_argument('--repeat', type=int, default=5, help='--ablate: timed rounds')
    parser.add_argument('--eager', action='store_true', help='profile the eager reference')
    args = parser.parse_args(argv)
    if args.micro:
        print(render_restv2_kernel_timings(restv2_kernel_timings()), end='')
    torch.manual_seed(0)
    model = ResTv2('tiny')
    model.init_weights()
    model.eval()
    x = torch.randn(args.batch, 3, *args.shape)
    if args.ablate:
        print(render_fast_path_ablation(fast_path_ablation(model, x, repeat=args.repeat)), end='')
        return
    with torch.no_grad():
        table = top_ops((lambda: eager_forward(model, x)) if args.eager else (lambda: model(x)))
    print(table)


if __name__ == '__main__':
    main()
