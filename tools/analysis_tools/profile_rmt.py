"""Where a training step (or a forward) of RMT-T/S goes, ours beside the official code, by kind of
op: the matrix products of the linear layers, the attention, the convolutions and the rest.

    RESTV2_OFFICIAL_RMT=/path/to/RMT python tools/analysis_tools/profile_rmt.py \
        [--arch t] [--size 224|512x512|1333x800] [--infer] [--rounds 3] [--micro]

Both backbones hold the same weights (:func:`restv2_mm.analysis.official_rmt_pair`) and get the
same input and layout as the ``rmt`` suite of ``benchmark.py``
(:data:`restv2_mm.analysis.RMT_LAYOUTS`): 8x3x224x224, 1x3x512x512 or 1x3x800x1344. Each
round profiles one step of each (torch.profiler, self CPU time); the table gives, per kind, the
median over rounds in ms and its share of the step. Kinds by aten op: ``linear`` (``mm``,
``addmm``, oneDNN's fused linear), ``attention`` (``bmm``, softmax and its backward, the fused
attention kernels), ``conv`` (convolutions and their backward), ``other`` (everything else:
elementwise ops, norms, copies). Without an official checkout only ours is profiled.

``--micro`` first times the rotary position of q in stage 1 of each layout (best of 10, ms, forward
and forward + backward): the official ``theta_shift`` (two slices, a negation, a stack, two
products and a sum) against ours, one complex product per channel pair (``rotate_pairs``).
"""
import argparse
import statistics

import torch

from restv2_mm.analysis import (
    OFFICIAL_ARCHS,
    RMT_LAYOUTS,
    measure_latency,
    official_rmt_pair,
    official_root,
    rmt_backbone,
)
from restv2_mm.models import RetentionRelPos2d, rotate_pairs, theta_shift

KINDS = ('linear', 'attention', 'conv', 'other')


def kind(op: str) -> str:
    """The kind of an aten op name (see the module docstring)."""
    if op in ('aten::mm', 'aten::addmm') or op.startswith('mkldnn::_linear_pointwise'):
        return 'linear'
    if op in ('aten::bmm', 'aten::_softmax', 'aten::_softmax_backward_data') or \
            'scaled_dot_product' in op:
        return 'attention'
    if 'convolution' in op:
        return 'conv'
    return 'other'


def profile_step(model: torch.nn.Module, x: torch.Tensor, train: bool) -> dict:
    """Self CPU ms per kind (and ``total``) of one training step or no-grad forward."""
    model.train(train)
    with torch.profiler.profile() as prof:
        if train:
            sum(o.mean() for o in model(x)).backward()
        else:
            with torch.no_grad():
                model(x)
    model.zero_grad(set_to_none=True)
    ms = dict.fromkeys(KINDS, 0.)
    for event in prof.key_averages():
        ms[kind(event.key)] += event.self_cpu_time_total / 1e3
    ms['total'] = sum(ms.values())
    return ms


def micro():
    """Official against our rotary of stage-1 q (4 heads of 16 channels) at each layout."""
    print('rotary of stage-1 q        official fwd   ours fwd   official fwd+bwd   ours fwd+bwd')
    for size, (batch, h, w, _) in RMT_LAYOUTS.items():
        h, w = h // 4, w // 4
        sin, cos = RetentionRelPos2d(64, 4, 2, 4).rotary(h, w)
        turn = torch.complex(cos[..., ::2], sin[..., ::2]).unsqueeze(2)
        x = torch.randn(batch, 4, h, w, 16, requires_grad=True)  # the official (B, N, H, W, D)
        x_ours = x.detach().permute(0, 2, 3, 1, 4).contiguous().requires_grad_()  # (B, H, W, N, D)
        grad, grad_ours = torch.randn_like(x), torch.randn_like(x_ours)
        times = []
        for fn, t, g in ((lambda t: theta_shift(t, sin, cos), x, grad),
                         (lambda t: rotate_pairs(t, turn), x_ours, grad_ours)):
            with torch.no_grad():
                times.append(_best_ms(lambda: fn(t)))
            times.append(_best_ms(lambda: fn(t).backward(g)))
        print(f'{size:9s} {batch}x{h}x{w}x64'.ljust(27) + f'{times[0]:12.2f} {times[2]:10.2f} '
              f'{times[1]:18.2f} {times[3]:14.2f}')


def _best_ms(fn):
    return measure_latency(fn, warmup=1, repeat=10)['min_ms']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', choices=sorted(OFFICIAL_ARCHS), default='t')
    parser.add_argument('--size', choices=list(RMT_LAYOUTS), default='224')
    parser.add_argument('--infer', action='store_true', help='a no-grad forward, not a step')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--micro', action='store_true', help='the rotary comparison first')
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f'--rounds must be >= 1, got {args.rounds}')
    torch.manual_seed(0)
    if args.micro:
        micro()
    batch, h, w, chunkwise = RMT_LAYOUTS[args.size]
    chunkwise = chunkwise[args.arch]
    if official_root():
        models = dict(zip(('official', 'ours'), official_rmt_pair(args.arch, chunkwise)))
    else:
        print('no official RMT checkout ($RESTV2_OFFICIAL_RMT): ours only')
        models = dict(ours=rmt_backbone(args.arch, chunkwise))
    x = torch.randn(batch, 3, h, w)
    train = not args.infer
    for model in models.values():  # warm-up: caches, allocator, oneDNN primitives
        profile_step(model, x, train)
    rounds = {name: [] for name in models}
    for _ in range(args.rounds):  # interleaved
        for name, model in models.items():
            rounds[name].append(profile_step(model, x, train))
    print(f'RMT-{args.arch.upper()} {"forward" if args.infer else "training step"} '
          f'{batch}x3x{h}x{w}, self CPU ms (share), median of {args.rounds} rounds, '
          f'{torch.get_num_threads()} threads')
    print(f'{"":10s}' + ''.join(f'{k:>18s}' for k in KINDS + ('total', )))
    for name, runs in rounds.items():
        med = {k: statistics.median(r[k] for r in runs) for k in KINDS + ('total', )}
        print(f'{name:10s}' + ''.join(
            f'{med[k]:10.1f} ({med[k] / med["total"]:4.0%})' for k in KINDS) +
            f'{med["total"]:18.1f}')


if __name__ == '__main__':
    main()
