"""Where a training step (or a forward) of RMT-T/S goes, ours beside the official code, by kind of
op: the matrix products of the linear layers, the attention, the convolutions and the rest.

    RESTV2_OFFICIAL_RMT=/path/to/RMT python tools/analysis_tools/profile_rmt.py \
        [--arch t] [--size 224|512x512|1333x800] [--infer] [--rounds 3] [--micro]

Both backbones hold the same weights (``official_rmt_pair`` of tests/official_rmt.py, which runs
the official code of the checkout named by ``$RESTV2_OFFICIAL_RMT``) and get the same input and
layout as the ``rmt`` suite of ``benchmark.py`` (:data:`restv2_mm.analysis.RMT_LAYOUTS`):
8x3x224x224, 1x3x512x512 or 1x3x800x1344. Each round profiles one step of each (torch.profiler,
self CPU time); the table gives, per kind (:func:`restv2_mm.analysis.op_kind`), the median over
rounds in ms and its share of the step. Without an official checkout only ours is profiled.

``--micro`` first times the rotary position of q in stage 1 of each layout
(:func:`restv2_mm.analysis.rotary_timings`: the official ``theta_shift`` against our
``ops.rotary``, best of 10, ms, forward and forward + backward).
"""
import argparse
import os.path as osp
import runpy

import torch

from restv2_mm.analysis import (
    RMT_ARCHS,
    RMT_LAYOUTS,
    compare_by_kind,
    render_by_kind,
    render_rotary_timings,
    rmt_backbone,
    rotary_timings,
)

OFFICIAL_LOADER = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tests',
                           'official_rmt.py')


def models(arch, chunkwise):
    """{'official': ..., 'ours': ...} on the same weights, or ours alone without the official code."""
    official = runpy.run_path(OFFICIAL_LOADER) if osp.isfile(OFFICIAL_LOADER) else None
    if official and official['official_root']():
        return dict(zip(('official', 'ours'), official['official_rmt_pair'](arch, chunkwise)))
    print('no official RMT checkout ($RESTV2_OFFICIAL_RMT): ours only')
    return dict(ours=rmt_backbone(arch, chunkwise))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', choices=RMT_ARCHS, default='t')
    parser.add_argument('--size', choices=list(RMT_LAYOUTS), default='224')
    parser.add_argument('--infer', action='store_true', help='a no-grad forward, not a step')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--micro', action='store_true', help='the rotary comparison first')
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f'--rounds must be >= 1, got {args.rounds}')
    torch.manual_seed(0)
    if args.micro:
        print(render_rotary_timings(rotary_timings()), end='')
    batch, h, w, chunkwise = RMT_LAYOUTS[args.size]
    compared = models(args.arch, chunkwise[args.arch])
    medians = compare_by_kind(compared, torch.randn(batch, 3, h, w), not args.infer, args.rounds)
    print(f'RMT-{args.arch.upper()} {"forward" if args.infer else "training step"} '
          f'{batch}x3x{h}x{w}, self CPU ms (share), median of {args.rounds} rounds, '
          f'{torch.get_num_threads()} threads')
    print(render_by_kind(medians), end='')


if __name__ == '__main__':
    main()
