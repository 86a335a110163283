"""Where a ResTv2-T backbone forward spends its time, and the kernel choices behind it.

    python tools/analysis_tools/profile_restv2.py [--shape 800 1344] [--micro] [--eager]

Prints the torch.profiler table (self CPU time by op) of one no-grad forward of the ResTv2-T
backbone (``--eager``: the eager reference of :mod:`restv2_mm.analysis.eager_reference`), and with
``--micro`` first the side-by-side timings behind the choices in ``docs/performance.md``
(:func:`restv2_mm.analysis.restv2_kernel_timings`: fused oneDNN linear+GELU and linear+add against
the plain ops at stage 1 of an 800x1344 input, and the Up(V) branch of each stage in NCHW against
channels-last; best of 10, ms).
"""
import argparse

import torch

from restv2_mm.analysis import eager_forward, render_restv2_kernel_timings, restv2_kernel_timings, top_ops
from restv2_mm.models import ResTv2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', nargs=2, type=int, default=[800, 1344], metavar=('H', 'W'))
    parser.add_argument('--micro', action='store_true', help='kernel comparisons too')
    parser.add_argument('--eager', action='store_true', help='profile the eager reference')
    args = parser.parse_args(argv)
    if args.micro:
        print(render_restv2_kernel_timings(restv2_kernel_timings()), end='')
    torch.manual_seed(0)
    model = ResTv2('tiny')
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, *args.shape)
    with torch.no_grad():
        table = top_ops((lambda: eager_forward(model, x)) if args.eager else (lambda: model(x)))
    print(table)


if __name__ == '__main__':
    main()
