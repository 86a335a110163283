"""Where a ResTv2-T backbone forward spends its time, and the kernel choices behind it.

    python tools/analysis_tools/profile_restv2.py [--shape 800 1344] [--micro] [--eager]

Prints the torch.profiler table (self CPU time by op) of one no-grad forward of the ResTv2-T
backbone (``--eager``: the eager reference of :mod:`restv2_mm.analysis.eager_reference`), and with ``--micro``
the side-by-side timings (best of 10, ms) behind the choices in ``docs/performance.md``:
fused oneDNN linear+GELU and linear+add against the plain ops at stage 1 of an 800x1344 input, and
the Up(V) branch of each stage in NCHW against channels-last.
"""
import argparse

import torch
import torch.nn.functional as F

from restv2_mm.analysis import eager_forward, measure_latency
from restv2_mm.models import ResTv2


def best_ms(fn):
    return measure_latency(fn, warmup=1, repeat=10)['min_ms']


def micro():
    torch.manual_seed(0)
    linear = torch.ops.mkldnn._linear_pointwise
    x, fc1, fc2 = torch.randn(67200, 96), torch.nn.Linear(96, 384), torch.nn.Linear(384, 96)
    h, res = torch.randn(67200, 384), torch.randn(67200, 96)
    print('stage 1 (67,200 tokens, C=96)      plain ms   fused ms')
    print(f'fc1 + GELU                          {best_ms(lambda: F.gelu(fc1(x))):8.1f}   '
          f'{best_ms(lambda: linear(x, fc1.weight, fc1.bias, "gelu", [], "none")):8.1f}')
    print(f'fc2 + residual                      {best_ms(lambda: fc2(h) + res):8.1f}   '
          f'{best_ms(lambda: linear.binary(h, res, fc2.weight, fc2.bias, "add")):8.1f}')
    print('Up(V) branch: dw conv C->r*r*C, PixelShuffle(r), to tokens   NCHW ms   channels-last ms')
    for c, r in ((96, 8), (192, 4), (384, 2), (768, 1)):
        conv, shuffle = torch.nn.Conv2d(c, c * r * r, 3, padding=1, groups=c), torch.nn.PixelShuffle(r)
        v = torch.randn(1, c, 25, 42)
        v_cl = v.contiguous(memory_format=torch.channels_last)
        nchw = best_ms(lambda: shuffle(conv(v)).flatten(2).transpose(1, 2).contiguous())
        cl = best_ms(lambda: shuffle(conv(v_cl)).permute(0, 2, 3, 1).reshape(1, -1, c))
        print(f'C={c:4d} r={r}                                                  {nchw:7.1f}   {cl:7.1f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shape', nargs=2, type=int, default=[800, 1344], metavar=('H', 'W'))
    parser.add_argument('--micro', action='store_true', help='kernel comparisons too')
    parser.add_argument('--eager', action='store_true', help='profile the eager reference')
    args = parser.parse_args()
    with torch.no_grad():
        if args.micro:
            micro()
        torch.manual_seed(0)
        model = ResTv2('tiny')
        model.init_weights()
        model.eval()
        x = torch.randn(1, 3, *args.shape)
        fn = (lambda: eager_forward(model, x)) if args.eager else (lambda: model(x))
        fn()
        with torch.profiler.profile() as prof:
            fn()
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=15))


if __name__ == '__main__':
    main()
