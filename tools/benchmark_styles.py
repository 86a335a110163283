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
from mmengine.registry import init_default_scope  # noqa: E402

import restv2_mm  # noqa: E402,F401
from restv2_mm.analysis import count_params, flop_analyzer, measure_latency  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    if cfg.model.backbone.get('type') != 'ResTv2':
        raise ValueError(f'{args.config}: the backbone is {cfg.model.backbone.get("type")!r}, '
                         "not 'ResTv2'; --styles needs a ResTv2 backbone")
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    x = torch.randn(1, 3, *args.shape)
    models = {}
    for style in args.styles:
        model_cfg = cfg.model.copy()
        model_cfg.backbone = dict(model_cfg.backbone, style=style, init_cfg=None)
        models[style] = MODELS.build(model_cfg).eval()
    rows = {s: [] for s in args.styles}
    with torch.no_grad():
        for style, model in models.items():
            model.extract_feat(x)  # warm-up
        for _ in range(args.repeat):  # interleaved rounds
            for style, model in models.items():
                rows[style].append(measure_latency(lambda: model.extract_feat(x), warmup=0,
                                                   repeat=1)['median_ms'])
    print(f'| style | params (M) | backbone+neck forward ms, {args.shape[0]}x{args.shape[1]} '
          f'(median [min, max] of {args.repeat}) | ratio to {args.styles[0]} |'
          + (' GFLOPs |' if args.flops else ''))
    print('|---|---|---|---|' + ('---|' if args.flops else ''))
    base = sorted(rows[args.styles[0]])[len(rows[args.styles[0]]) // 2]
    for style, model in models.items():
        t = sorted(rows[style])
        med = t[len(t) // 2]
        line = (f'| {style} | {count_params(model) / 1e6:.2f} | {med:.0f} [{t[0]:.0f}, {t[-1]:.0f}] '
                f'| {med / base:.2f} |')
        if args.flops:
            class Feat(torch.nn.Module):
                def __init__(self, m):
                    super().__init__()
                    self.m = m

                def forward(self, inp):
                    return self.m.extract_feat(inp)
            line += f' {flop_analyzer(Feat(model), x).total() / 1e9:.1f} |'
        print(line)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{os.uname().machine}, {os.cpu_count()} CPUs')


if __name__ == '__main__':
    main()
