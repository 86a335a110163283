"""Latency and activation memory of ResTv2 against the eager reference and other backbones.

    python tools/analysis_tools/benchmark.py [--suites reference train rmt models styles] [--only REGEX]
                              [--official-rmt DIR] [--device cpu|cuda]
                              [--repeat 5] [--warmup 1] [--dtypes fp32 bf16 fp16]
                              [--compile] [--channels-last] [--no-memory] [--out FILE.md FILE.json]
                              [--configs CONFIG ... [--cfg-options k=v ...]]
    python tools/analysis_tools/benchmark.py --render FILE.json [--out FILE.md]

``--out FILE.json`` keeps the machine, torch version, ``MALLOC_*`` settings, command and rows;
``--render`` turns such a file back into its table without measuring anything (the docs' tables
are checked against it by tests/test_docs/test_tables.py).

Suites (all rows of a suite are timed side by side, in interleaved rounds):

- ``reference``: ResTv2-T backbone as shipped (``ours``) and the eager reference
  (:mod:`restv2_mm.analysis.eager_reference`: the official code's computation with
  ``q @ k^T``, softmax, ``@ v``) on the same weights, at 224 (batch 8 on CPU, 64 on GPU), 1333x800
  (an 800x1344 padded input, batch 1) and 2048x512 (batch 1). Also the largest output difference.
- ``train``: one training step (forward + backward) of the eager reference and of ours without
  checkpointing, with ``with_cp='selective'`` and with ``with_cp='full'``, at 224 (batch 8 / 64),
  1333x800 and 2048x512 (batch 1 and 2): step time and training activation memory.
- ``rmt``: the RMT-T and RMT-S backbones (``ours``) against the official code (``official``,
  :mod:`restv2_mm.analysis.official_rmt`: ``detect/mmdet/models/backbones/RMT.py`` of a checkout
  named by ``--official-rmt`` or ``$RESTV2_OFFICIAL_RMT``, run timm-free) on the same weights:
  inference and one training step at 224 (batch 8 / 64; the classifier's decomposed stages),
  512x512 (batch 1; the segmentation configs' layout) and 1333x800 (an 800x1344 input, batch 1;
  decomposed retention in stages 1-3). Without a checkout only our rows run, and a message says so.
- ``models``: backbones at 224 (batch 8 / 64) and whole Mask R-CNN (1280x800) and UperNet
  (2048x512) models, ResTv2-T against RMT-T (our configs) and Swin-T, ConvNeXt-T and PVTv2-B2 built
  from the stock mmdet / mmseg / mmpretrain configs (paper Tables 1, 4, 5), random weights, tensor
  forward without post-processing (``restv2_mm.apis.TensorForward``).
- ``styles``: the ResTv2-T backbone in the four fine-tuning styles at 1280x800 (paper 5.1).
- ``--configs``: the whole models of any configs (e.g. the ablation variants of
  ``configs/mmpretrain/ablations``, each switch also settable with ``--cfg-options``, such as
  ``model.backbone.up_mode=nearest``), side by side at their task's paper size (224 at batch 8 /
  64 for classifiers). Without ``--suites`` only these rows run.

Latency is the median of ``--repeat`` forwards (``train``: training steps) after ``--warmup`` (min
and max shown), in ms; forwards run under ``torch.no_grad``. Activation memory is the peak during
one forward (``infer``) or one forward + backward of the sum of the outputs' means (``train``) minus
what was held before it (:mod:`restv2_mm.analysis.memory`): CUDA max allocated on GPU, peak RSS
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``) on CPU,
each in a fresh process with glibc's mmap threshold fixed at 64 KiB so that freed blocks leave the
RSS. Ratios are against the row marked ``base`` of each group. ``--only REGEX`` keeps the rows
whose ``'group: name'`` matches, e.g. ``--suites models --only '^(Mask R-CNN|UperNet).*:
(ResTv2-T|RMT-T|Swin-T)$'``.

Raises:
    SystemExit: bad arguments (argparse), ``--device cuda`` without CUDA, or fp16/bf16 on CPU.
"""
import argparse
import contextlib
import functools
import json
import os.path as osp
import re
import shlex
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SIZES = {'224': (224, 224), '1333x800': (800, 1344), '1280x800': (800, 1280),
         '2048x512': (512, 2048), '512x512': (512, 512)}
SUITES = ('reference', 'train', 'rmt', 'models', 'styles')
SIZE_OF_SCOPE = {'mmdet': '1280x800', 'mmseg': '2048x512', 'mmpretrain': '224'}
OURS = {'mmdet': 'configs/mmdet/mask_rcnn_restv2_t_3x.py',
        'mmseg': 'configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py',
        'mmpretrain': 'configs/mmpretrain/restv2_t_8xb256_in1k.py'}
STOCK = {  # (backbone config at 224, Mask R-CNN, UperNet); None where the library has none
    'RMT-T': ('configs/mmpretrain/rmt_t_8xb128_in1k.py', 'configs/mmdet/mask_rcnn_rmt_t_1x.py',
              'configs/mmseg/upernet_rmt_t_512x512_160k_ade20k.py'),
    'Swin-T': ('mmpretrain::swin_transformer/swin-tiny_16xb64_in1k.py',
               'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
               'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'),
    'ConvNeXt-T': ('mmpretrain::convnext/convnext-tiny_32xb128_in1k.py',
                   'mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py',
                   'mmseg::convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py'),
    'PVTv2-B2': ('mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py', None, None),
}


def rows_for(suites, device, configs=(), cfg_options=None, official_rmt=None):
    """Row specs (plain dicts, so a worker process can rebuild them)."""
    small = 64 if device == 'cuda' else 8
    rows = []
    if 'rmt' in suites:
        # Inference and one training step of RMT-T/S against the official backbone on the same
        # weights; the official rows are left out (with a message) where its checkout is absent.
        from restv2_mm.analysis import OFFICIAL_RMT_ENV, RMT_LAYOUTS, official_root
        root = official_root(official_rmt)
        if root is None:
            print(f'rmt suite: no official RMT checkout (--official-rmt or ${OFFICIAL_RMT_ENV}: a '
                  f'clone of github.com/qhfan/RMT); only our rows run', file=sys.stderr)
        for arch in ('t', 's'):
            for size, (batch, _, _, chunkwise) in RMT_LAYOUTS.items():
                if device == 'cuda' and size == '224':
                    batch = small
                for train in (False, True):
                    group = f'RMT-{arch.upper()} {size} x{batch}' + (' train' if train else '')
                    spec = dict(group=group, kind='rmt', arch=arch, size=size, batch=batch,
                                chunkwise=chunkwise[arch], train=train,
                                official_root=root)
                    if root is not None:
                        rows.append(dict(spec, name='official', impl='official', base=True))
                    rows.append(dict(spec, name='ours', impl='ours', base=root is None))
    for i, config in enumerate(configs):
        size = SIZE_OF_SCOPE[_config_scope(config)]
        rows.append(dict(group='configs', name=osp.basename(config), kind='model', config=config,
                         size=size, batch=small if size == '224' else 1, base=i == 0,
                         cfg_options=cfg_options or {}))
    if 'reference' in suites:
        for size, batch in (('224', small), ('1333x800', 1), ('2048x512', 1)):
            group = f'reference {size}'
            rows += [dict(group=group, name='eager reference', kind='restv2', impl='eager',
                          size=size, batch=batch, base=True),
                     dict(group=group, name='ours', kind='restv2', impl='ours', size=size,
                          batch=batch)]
    if 'train' in suites:
        # One training step (forward + backward): time and activation memory per checkpointing
        # mode against the eager reference.
        for size, batch in (('224', small), ('1333x800', 1), ('1333x800', 2), ('2048x512', 1),
                            ('2048x512', 2)):
            group = f'train {size} x{batch}'
            rows.append(dict(group=group, name='eager reference', kind='restv2', impl='eager',
                             size=size, batch=batch, train=True, base=True))
            for mode, name in ((False, 'ours'), ('selective', 'ours, with_cp=selective'),
                               ('full', 'ours, with_cp=full')):
                rows.append(dict(group=group, name=name, kind='restv2', impl='ours', size=size,
                                 batch=batch, train=True, with_cp=mode))
    if 'models' in suites:
        rows.append(dict(group='backbone 224', name='ResTv2-T', kind='backbone',
                         config=OURS['mmpretrain'], size='224', batch=small, base=True))
        for name, (bb, _, _) in STOCK.items():
            rows.append(dict(group='backbone 224', name=name, kind='backbone', config=bb,
                             size='224', batch=small))
        for group, index, size, ours in (('Mask R-CNN 1280x800', 1, '1280x800', OURS['mmdet']),
                                         ('UperNet 2048x512', 2, '2048x512', OURS['mmseg'])):
            rows.append(dict(group=group, name='ResTv2-T', kind='model', config=ours, size=size,
                             batch=1, base=True))
            for name, configs in STOCK.items():
                if configs[index]:
                    rows.append(dict(group=group, name=name, kind='model', config=configs[index],
                                     size=size, batch=1))
    if 'styles' in suites:
        for style in ('global', 'win', 'cwin', 'hwin'):
            rows.append(dict(group='styles 1280x800', name=style, kind='restv2', impl='ours',
                             style=style, size='1280x800', batch=1, base=style == 'global'))
    return rows


def _eval(model, device):
    model.to(device).eval()  # some backbones' train() (Swin's) returns None, not the module
    return model


def build(row, device):
    """(module, forward function taking the input, input tensor) for a row, random weights."""
    import restv2_mm  # noqa: F401  (registers ResTv2)
    from restv2_mm.analysis import eager_forward
    from restv2_mm.apis import (
        TensorForward,
        build_model,
        config_scope,
        fixed_input,
        load_config,
    )
    from restv2_mm.models import ResTv2
    torch.manual_seed(0)
    h, w = SIZES[row['size']]
    if row['kind'] == 'rmt':
        from restv2_mm.analysis import official_rmt_pair
        official, ours = official_rmt_pair(row['arch'], row['chunkwise'], row['official_root']) \
            if row['official_root'] else (None, _rmt(row['arch'], row['chunkwise']))
        model = official if row['impl'] == 'official' else ours
        x = torch.randn(row['batch'], 3, h, w)
        return _eval(model, device), (lambda m, t: m(t)), x.to(device)
    if row['kind'] == 'restv2':
        model = ResTv2('tiny', style=row.get('style', 'global'), with_cp=row.get('with_cp', False))
        model.init_weights()
        x = torch.randn(row['batch'], 3, h, w)
        fn = (lambda m, t: eager_forward(m, t)) if row['impl'] == 'eager' else (lambda m, t: m(t))
        return _eval(model, device), fn, x.to(device)
    cfg = load_config(row['config'] if '::' in row['config'] else osp.join(REPO, row['config']))
    if row.get('cfg_options'):
        cfg.merge_from_dict(row['cfg_options'])
    scope = config_scope(cfg, row['config'])
    if row['kind'] == 'backbone':
        model = build_model(cfg, name=row['config']).backbone
        x = torch.randn(row['batch'], 3, h, w)
        return _eval(model, device), (lambda m, t: m(t)), x.to(device)
    model = build_model(cfg, name=row['config'])
    x, samples = fixed_input(scope, (h, w), row['batch'])
    return _eval(TensorForward(model, scope, samples), device), (lambda m, t: m(t)), x.to(device)


def _rmt(arch, chunkwise):
    from restv2_mm.analysis import rmt_backbone
    model = rmt_backbone(arch, chunkwise)
    model.init_weights()
    return model


def train_step(model, fn, x, autocast=None):
    """One forward + backward of the sum of the outputs' means (gradients then dropped)."""
    model.train()
    with autocast() if autocast else contextlib.nullcontext():
        outs = fn(model, x)
    sum(o.float().mean() for o in outs).backward()
    model.zero_grad(set_to_none=True)


def _config_scope(config):
    from restv2_mm.apis import config_scope, load_config
    return config_scope(load_config(config if '::' in config else osp.join(REPO, config)), config)


def activation_memory(row, mode, device):
    """Peak minus held memory (MB) of one forward (``infer``) or forward + backward (``train``)."""
    from restv2_mm.analysis import peak_memory_mb
    model, fn, x = build(row, device)
    if mode == 'train':
        return peak_memory_mb(lambda: train_step(model, fn, x), device)
    model.eval()
    with torch.no_grad():
        return peak_memory_mb(lambda: fn(model, x), device)


def memory_in_worker(row, mode, device):
    from restv2_mm.analysis import memory_in_fresh_process
    return memory_in_fresh_process([__file__, '--worker', json.dumps(row), mode, device],
                                   f'{row["name"]} ({mode})')


def run(args):
    from restv2_mm.analysis import measure_interleaved
    rows = rows_for(args.suites, args.device, args.configs, args.cfg_options, args.official_rmt)
    if args.only:
        pattern = re.compile(args.only)
        rows = [r for r in rows if pattern.search(f'{r["group"]}: {r["name"]}')]
        if not rows:
            raise SystemExit(f'--only {args.only!r} matches no row of the chosen suites')
    results = []
    for group in dict.fromkeys(r['group'] for r in rows):
        members = [r for r in rows if r['group'] == group]
        variants = []  # (row, dtype, compiled, module, fn, x)
        for row in members:
            model, fn, x = build(row, args.device)
            if args.channels_last:
                model, x = model.to(memory_format=torch.channels_last), \
                    x.contiguous(memory_format=torch.channels_last)
            for dtype in args.dtypes:
                variants.append((row, dtype, False, model, fn, x))
                if args.compile and row.get('impl') == 'ours':
                    variants.append((row, dtype, True, torch.compile(model), fn, x))
        print(f'== {group}: timing {len(variants)} rows ({args.repeat} rounds)', file=sys.stderr)

        def call(v):
            row, dtype, _, model, fn, x = v
            cast = getattr(torch, {'fp32': 'float32', 'bf16': 'bfloat16',
                                   'fp16': 'float16'}[dtype])
            autocast = functools.partial(torch.autocast, args.device, dtype=cast,
                                         enabled=dtype != 'fp32')
            if row.get('train'):
                return functools.partial(train_step, model, fn, x, autocast)

            def go():
                with torch.no_grad(), autocast():
                    return fn(model, x)
            return go

        times = measure_interleaved([call(v) for v in variants], warmup=args.warmup,
                                    repeat=args.repeat, device=args.device)
        diff = None
        ref = next((v for v in variants if v[0].get('impl') in ('eager', 'official')
                    and v[1] == 'fp32' and not v[0].get('train')), None)
        if ref is not None:
            ours = next(v for v in variants if v[0]['impl'] == 'ours' and v[1] == 'fp32')
            with torch.no_grad():
                diff = max((a - b).abs().max().item()
                           for a, b in zip(ours[4](ours[3], ours[5]), ref[4](ref[3], ref[5])))
        for v, t in zip(variants, times):
            row, dtype, compiled = v[0], v[1], v[2]
            results.append(dict(group=group, name=row['name'] + (' +compile' if compiled else ''),
                                dtype=dtype, base=row.get('base', False) and dtype == 'fp32'
                                and not compiled, shape=f'{row["batch"]}x3x{SIZES[row["size"]][0]}'
                                f'x{SIZES[row["size"]][1]}', **t, max_abs_diff=diff, row=row))
        del variants
        if not args.no_memory:
            for res in results:
                if res['group'] != group or res['dtype'] != 'fp32' or '+compile' in res['name']:
                    continue
                row = res['row']
                modes = ['train'] if row.get('train') else \
                    ['infer', 'train'] if group.startswith('reference') else ['infer']
                for mode in modes:
                    res[f'{mode}_mb'] = memory_in_worker(row, mode, args.device)
    return results


def ratio(a, b):
    return f'{a / b:.2f}' if a is not None and b else '-'


def render(data):
    """The markdown table of a benchmark JSON (``{machine, torch, argv, rows}``), as --out writes it."""
    env = ''.join(f'{k}={v} ' for k, v in data.get('env', {}).items())
    lines = [f'Machine: {data["machine"]}; torch {data["torch"]}.',
             f'Command: `{env}python tools/analysis_tools/benchmark.py {shlex.join(data["argv"])}`', '',
             '| group | row | dtype | input | median ms [min, max] | time / base | speed-up vs base '
             '| infer act. MB | / base | train act. MB | / base | max abs diff |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    results = data['rows']
    for group in dict.fromkeys(r['group'] for r in results):
        members = [r for r in results if r['group'] == group]
        base = next((r for r in members if r['base']), members[0])
        for r in members:
            ms = '-' if r['median_ms'] is None else \
                f'{r["median_ms"]:.1f} [{r["min_ms"]:.1f}, {r["max_ms"]:.1f}]'
            mem = [r.get('infer_mb'), r.get('train_mb')]
            diff = r.get('max_abs_diff')
            lines.append(
                f'| {group} | {r["name"]}{" (base)" if r is base else ""} | {r["dtype"]} | '
                f'{r["shape"]} | {ms} | {ratio(r["median_ms"], base["median_ms"])} | '
                f'{ratio(base["median_ms"], r["median_ms"])} | '
                f'{"-" if mem[0] is None else f"{mem[0]:.0f}"} | {ratio(mem[0], base.get("infer_mb"))} | '
                f'{"-" if mem[1] is None else f"{mem[1]:.0f}"} | {ratio(mem[1], base.get("train_mb"))} | '
                f'{"-" if diff is None or r["name"] != "ours" else f"{diff:.1e}"} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--suites', nargs='+', choices=SUITES,
                        help='default: all, or none where --configs is given')
    parser.add_argument('--only', metavar='REGEX',
                        help="run only the rows whose 'group: name' matches (re.search), e.g. "
                             "'^RMT-T' or '^(Mask R-CNN|UperNet).*: (ResTv2-T|RMT-T|Swin-T)$'")
    parser.add_argument('--official-rmt', metavar='DIR',
                        help='checkout of github.com/qhfan/RMT for the rmt suite '
                             '(default: $RESTV2_OFFICIAL_RMT)')
    parser.add_argument('--configs', nargs='+', default=[], metavar='CONFIG',
                        help='also time the whole model of each config, side by side')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every --configs config, key=value')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--repeat', type=int, default=5, help='timed rounds (median, min, max)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed forwards per row first')
    parser.add_argument('--dtypes', nargs='+', default=['fp32'], choices=['fp32', 'bf16', 'fp16'],
                        help='autocast dtypes (GPU); memory is measured in fp32')
    parser.add_argument('--compile', action='store_true', help='add torch.compile rows of ours')
    parser.add_argument('--channels-last', action='store_true',
                        help='run every row with channels-last model and input')
    parser.add_argument('--no-memory', action='store_true', help='skip the memory workers')
    parser.add_argument('--out', nargs='+', default=[],
                        help='also write the table (.md) and/or the rows (.json)')
    parser.add_argument('--render', metavar='FILE.json',
                        help='measure nothing: print (and --out FILE.md) the table of a JSON written before')
    args = parser.parse_args(argv)
    if args.suites is None:
        args.suites = [] if args.configs else list(SUITES)
    if args.cfg_options and not args.configs:
        parser.error('--cfg-options applies to --configs; give the configs')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available')
    if args.device == 'cpu' and set(args.dtypes) - {'fp32'}:
        parser.error('--dtypes bf16/fp16 are for --device cuda; on the CPU use fp32')
    if any(not out.endswith(('.md', '.json')) for out in args.out):
        parser.error('--out files must end in .md or .json')
    if args.repeat < 1 or args.warmup < 0:
        parser.error('--repeat must be >= 1 and --warmup >= 0')
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == '--worker':
        row, mode, device = json.loads(argv[1]), argv[2], argv[3]
        print(json.dumps(dict(mb=activation_memory(row, mode, device))))
        return
    args = parse_args(argv)
    if args.render:
        with open(args.render) as f:
            data = json.load(f)
    else:
        from restv2_mm.analysis import machine_name, malloc_settings
        data = dict(machine=machine_name(args.device), torch=torch.__version__,
                    env=malloc_settings(),
                    argv=argv, rows=run(args))
    table = render(data)
    print(table, end='')
    if args.out:
        from restv2_mm.engine import AtomicLocalBackend
    for out in args.out:
        text = table if out.endswith('.md') else json.dumps(data, indent=1)
        AtomicLocalBackend().put_text(text, out)


if __name__ == '__main__':
    main()
