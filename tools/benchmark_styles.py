"""Parameters, GFLOPs and forward latency of one detector config in each fine-tuning style.

    python tools/benchmark_styles.py [CONFIG] [--shape H W] [--repeat 3] [--styles global win ...]

Rows are measured side by side in one run (interleaved rounds), so the ratios between styles hold
on a noisy machine. Times the backbone + neck forward (``extract_feat``) under ``torch.no_grad()``;
params count the whole detector. Default: the T Mask R-CNN x1 config at 800x1280 (paper Table 3).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

import restv2_mm  # noqa: E402,F401
from restv2_mm.analysis import count_params, flop_analyzer, measure_interleaved  # noqa: E402
from restv2_mm.analysis.model_io import build_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BackboneNeck(torch.nn.Module):
    """A detector's ``extract_feat`` (backbone + neck) as a module, for FLOPs tracing."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def forward(self, x):
        return self.detector.extract_feat(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('config', nargs='?',
                        default=os.path.join(ROOT, 'configs/mmdet/mask_rcnn_restv2_t_global_1x.py'))
    parser.add_argument('--shape', nargs=2, type=int, default=[800, 1280], metavar=('H', 'W'))
    parser.add_argument('--styles', nargs='+', default=['global', 'win', 'cwin', 'hwin'])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--flops', action='store_true', help='also count backbone+neck GFLOPs')
    args = parser.parse_args(argv)

    cfg = Config.fromfile(args.config)
    torch.manual_seed(0)
    x = torch.randn(1, 3, *args.shape)
    # build_model rebuilds the ResTv2 backbone per style and refuses other backbones.
    models = {style: build_model(cfg, style, name=args.config) for style in args.styles}
    with torch.no_grad():
        stats = dict(zip(args.styles, measure_interleaved(
            [lambda m=m: m.extract_feat(x) for m in models.values()], warmup=1,
            repeat=args.repeat)))
    print(f'| style | params (M) | backbone+neck forward ms, {args.shape[0]}x{args.shape[1]} '
          f'(median [min, max] of {args.repeat}) | ratio to {args.styles[0]} |'
          + (' GFLOPs |' if args.flops else ''))
    print('|---|---|---|---|' + ('---|' if args.flops else ''))
    base = stats[args.styles[0]]['median_ms']
    for style, model in models.items():
        lat = stats[style]
        line = (f'| {style} | {count_params(model) / 1e6:.2f} | {lat["median_ms"]:.0f} '
                f'[{lat["min_ms"]:.0f}, {lat["max_ms"]:.0f}] | {lat["median_ms"] / base:.2f} |')
        if args.flops:
            line += f' {flop_analyzer(BackboneNeck(model), x).total() / 1e9:.1f} |'
        print(line)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{os.uname().machine}, {os.cpu_count()} CPUs')


if __name__ == '__main__':
    main()
