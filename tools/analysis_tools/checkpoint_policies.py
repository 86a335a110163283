"""Training-step time and activation memory of each gradient-checkpointing policy.

    python tools/analysis_tools/checkpoint_policies.py [--models restv2-t rmt-t] [--repeat 5]
        [--warmup 1] [--policies none full gemm narrow early attention] [--out FILE.json]
    python tools/analysis_tools/checkpoint_policies.py --render FILE.json

Rows per model: no checkpointing (``none``, the base), ``with_cp='full'``, and ``with_cp='selective'``
under each policy of :data:`restv2_mm.models.SELECTIVE_POLICIES`. One
training step is forward + backward of the sum of the outputs' means, fp32 on the CPU. Time: the
median [min, max] of ``--repeat`` interleaved rounds after ``--warmup`` (all policies of a model in
the same rounds, ms). Memory: peak RSS above the model during one step after ``--warmup`` steps,
each row in a fresh process (:mod:`restv2_mm.analysis.memory`, MB): the warm-up leaves out what a
first step loads once (library code, kernel caches, RMT's decay tables), which is no activation.
The table goes to stdout; ``--out`` also keeps the rows (as docs/checkpoint_policies_cpu.json:
machine, torch, ``MALLOC_*`` settings, argv and one point per row); ``--render`` prints the table
of such a file without measuring (the docs' table is checked against it).

Raises:
    SystemExit: bad arguments (argparse), or ``with_cp='selective'`` on torch < 2.4.
"""
import argparse
import json
import os.path as osp
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# name -> (input (N, 3, H, W), backbone builder kwargs)
MODELS = {
    'restv2-t': ((1, 3, 800, 1344), dict(type='ResTv2', arch='tiny')),
    'rmt-t': ((1, 3, 512, 512), dict(type='RMT', arch='tiny')),
}
POLICIES = ('none', 'full', 'gemm', 'narrow', 'early', 'attention')


def build(model_name, policy):
    """(model in train mode, input, step function) for one row, seeded random weights."""
    import restv2_mm  # noqa: F401
    from restv2_mm.models import RMT, ResTv2, selective_policy
    torch.manual_seed(0)
    shape, kwargs = MODELS[model_name]
    kwargs = dict(kwargs)
    cls = {'ResTv2': ResTv2, 'RMT': RMT}[kwargs.pop('type')]
    with_cp = {'none': False, 'full': 'full'}.get(policy, 'selective')
    model = cls(with_cp=with_cp, **kwargs)
    model.init_weights()
    model.train()
    x = torch.randn(*shape)

    def step():
        if with_cp == 'selective':
            with selective_policy(policy):
                outs = model(x)
                sum(o.mean() for o in outs).backward()
        else:
            outs = model(x)
            sum(o.mean() for o in outs).backward()
        model.zero_grad(set_to_none=True)
    return step


def memory_in_worker(model_name, policy, warmup):
    from restv2_mm.analysis import memory_in_fresh_process
    return memory_in_fresh_process([__file__, '--worker', model_name, policy, str(warmup)],
                                   f'{model_name} {policy}')


def run(args):
    from restv2_mm.analysis import measure_interleaved
    rows = []
    for model_name in args.models:
        print(f'== {model_name}: timing {len(args.policies)} policies', file=sys.stderr)
        steps = [build(model_name, p) for p in args.policies]
        times = measure_interleaved(steps, warmup=args.warmup, repeat=args.repeat)
        del steps
        for policy, t in zip(args.policies, times):
            rows.append(dict(model=model_name, policy=policy,
                             input='x'.join(map(str, MODELS[model_name][0])), **t,
                             train_mb=memory_in_worker(model_name, policy, args.warmup)))
        base = next(r for r in rows if r['model'] == model_name and r['policy'] == 'none')
        for r in rows:
            if r['model'] == model_name:
                r['time_ratio'] = r['median_ms'] / base['median_ms']
                r['memory_ratio'] = None if r['train_mb'] is None or not base['train_mb'] \
                    else r['train_mb'] / base['train_mb']
    return rows


def render(data):
    env = ''.join(f'{k}={v} ' for k, v in data.get('env', {}).items())
    lines = [f'Machine: {data["machine"]}; torch {data["torch"]}.',
             f'Command: `{env}python tools/analysis_tools/checkpoint_policies.py '
             f'{" ".join(data["argv"])}`',
             '', '| model | input | policy | step ms, median [min, max] | time / none '
             '| train act. MB | / none |', '|---|---|---|---|---|---|---|']
    for r in data['points']:
        mem = '-' if r['train_mb'] is None else f'{r["train_mb"]:.0f}'
        mratio = '-' if r['memory_ratio'] is None else f'{r["memory_ratio"]:.2f}'
        lines.append(f'| {r["model"]} | {r["input"]} | {r["policy"]} | {r["median_ms"]:.0f} '
                     f'[{r["min_ms"]:.0f}, {r["max_ms"]:.0f}] | {r["time_ratio"]:.2f} | {mem} | '
                     f'{mratio} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--worker':
        from restv2_mm.analysis import peak_memory_mb
        step = build(argv[1], argv[2])
        for _ in range(int(argv[3])):
            step()
        print(json.dumps(dict(mb=peak_memory_mb(step))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--policies', nargs='+', default=list(POLICIES), choices=POLICIES)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--out', help='also write the rows (.json)')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print the table of a file written with --out')
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            print(render(json.load(f)), end='')
        return
    if 'none' not in args.policies:
        parser.error("--policies needs 'none' (the base of the ratios)")
    from restv2_mm.models import selective_available
    if set(args.policies) - {'none', 'full'} and not selective_available():
        parser.error("the selective policies need torch >= 2.4")
    from restv2_mm.analysis import machine_name, malloc_settings
    data = dict(machine=machine_name('cpu'), torch=torch.__version__,
                env=malloc_settings(),
                argv=argv, points=run(args))
    print(render(data), end='')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(data, f, indent=1)


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    main()
