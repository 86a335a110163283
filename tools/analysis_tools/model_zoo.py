"""Measure Parameters and FLOPs of every model in the metafiles; write them or check them.

    python tools/analysis_tools/model_zoo.py --write [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]
    python tools/analysis_tools/model_zoo.py --check [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]
    python tools/analysis_tools/model_zoo.py --table [--lib mmpretrain ...] [--models NAME ...]

For each model of configs/{mmpretrain,mmdet,mmseg}/metafile.yml: the config's model is built as
tools/analyze_flops.py builds it (random weights, eval mode); Parameters is the exact count of its
parameters, FLOPs the multiply-adds of its tensor forward (restv2_mm.analysis.analyze_flops) on one
random image of the paper's size: classifiers at the test pipeline's crop (224 or 384), Mask R-CNN
at 1280x800, UperNet at 2048x512 (analyze_flops.py's defaults). --write puts the figures into the
metafiles' ``Metadata: {FLOPs, Parameters}`` and into docs/model_zoo_figures.json (merged, so runs
can be split with --lib / --models); --check exits 1 naming every model whose metafile differs from
the measurement (Parameters exactly; FLOPs to 1e-4 relative, as detection proposals come from a
random image). --table measures nothing: it prints the markdown table of the selected models,
figures from docs/model_zoo_figures.json beside the papers' results from the metafiles (the tables
of README.md and docs/model_zoo.md; tests/test_docs/test_tables.py checks them).
"""
import argparse
import fnmatch
import json
import os.path as osp
import re
import sys
import time

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIBS = ('mmpretrain', 'mmdet', 'mmseg')
FIGURES = osp.join(REPO, 'docs', 'model_zoo_figures.json')
FLOPS_RTOL = 1e-4


def metafile(lib):
    return osp.join(REPO, 'configs', lib, 'metafile.yml')


def input_shape(cfg, scope):
    """(H, W): a classifier's test-pipeline crop (last CenterCrop / Resize size), else the paper's."""
    from restv2_mm.apis import DEFAULT_SHAPES
    if scope == 'mmpretrain':
        size = None
        for step in cfg.test_dataloader.dataset.pipeline:
            size = step.get('crop_size', step.get('scale') if step['type'] == 'Resize' else None) or size
        if size:
            return (size, size) if isinstance(size, int) else tuple(size)[::-1]
    return DEFAULT_SHAPES[scope]


def measure(config, params_only=False):
    """dict(input='WxH', Parameters=int[, FLOPs=int]) of the config's model."""
    import torch

    import restv2_mm  # noqa: F401
    from restv2_mm.analysis import analyze_flops, count_params
    from restv2_mm.apis import TensorForward, build_model, config_scope, fixed_input, load_config
    cfg = load_config(osp.join(REPO, config))
    scope = config_scope(cfg, config)
    torch.manual_seed(0)
    model = build_model(cfg, name=config)
    shape = input_shape(cfg, scope)
    out = dict(config=config, input=f'{shape[1]}x{shape[0]}', Parameters=count_params(model))
    if not params_only:
        inputs, data_samples = fixed_input(scope, shape)
        with torch.no_grad():
            out['FLOPs'] = int(analyze_flops(TensorForward(model, scope, data_samples), inputs)['total'])
    return out


def write_metadata(path, figures):
    """Rewrite the ``Metadata:`` line of each measured model in place (comments kept)."""
    from restv2_mm.engine import AtomicLocalBackend
    lines, name = open(path).read().splitlines(keepends=True), None
    for i, line in enumerate(lines):
        m = re.match(r'\s*- Name: (\S+)', line)
        if m:
            name = m.group(1)
        elif name in figures and re.match(r'\s{4}Metadata: \{.*\}\s*$', line):
            meta = {k: figures[name][k] for k in ('FLOPs', 'Parameters') if k in figures[name]}
            lines[i] = '    Metadata: {' + ', '.join(f'{k}: {v}' for k, v in meta.items()) + '}\n'
            name = None
    AtomicLocalBackend().put_text(''.join(lines), path)


def mismatches(name, model, got):
    meta = model.get('Metadata') or {}
    bad = []
    if meta.get('Parameters') != got['Parameters']:
        bad.append(f"Parameters {meta.get('Parameters')} != measured {got['Parameters']}")
    if 'FLOPs' in got:
        flops = meta.get('FLOPs')
        if flops is None or abs(flops - got['FLOPs']) > FLOPS_RTOL * got['FLOPs']:
            bad.append(f"FLOPs {flops} != measured {got['FLOPs']} ({got['input']})")
    return [f'{name}: {b}' for b in bad]


METRICS = {'Top 1 Accuracy': 'top-1', 'Top 5 Accuracy': 'top-5'}
DATASETS = {'mmpretrain': 'ImageNet-1k', 'mmdet': 'COCO', 'mmseg': 'ADE20K'}


def task(lib, model):
    """'ImageNet-1k', or the dataset and the framework of the model's collection ('Cascade Mask
    R-CNN RMT' -> 'COCO Cascade Mask R-CNN')."""
    if lib == 'mmpretrain':
        return DATASETS[lib]
    return f"{DATASETS[lib]} {model['In Collection'].rsplit(' ', 1)[0]}"


def selected(libs, patterns):
    """(lib, metafile entry) of every model of ``libs`` whose name matches one of ``patterns``."""
    for lib in libs:
        with open(metafile(lib)) as f:
            for model in yaml.safe_load(f)['Models']:
                if not patterns or any(fnmatch.fnmatch(model['Name'], p) for p in patterns):
                    yield lib, model


def render_table(models, figures):
    """Markdown table of metafile models: measured params and FLOPs (``figures``, the JSON that
    --write keeps) beside the papers' results (the metafiles' ``Results``)."""
    lines = ['| model | task | params | GFLOPs | input | paper | config |',
             '|---|---|---|---|---|---|---|']
    for lib, model in models:
        got = figures.get(model['Name'], {})
        results = model.get('Results') or []
        paper = ', '.join(f'{METRICS.get(k, k)} {v}' for r in results for k, v in r['Metrics'].items())
        params = f"{got['Parameters'] / 1e6:.2f}M" if 'Parameters' in got else '-'
        gflops = got['FLOPs'] / 1e9 if 'FLOPs' in got else None
        gflops = '-' if gflops is None else f'{gflops:.3f}' if gflops < 100 else f'{gflops:.1f}'
        lines.append(f"| `{model['Name']}` | {task(lib, model)} | {params} | {gflops} | "
                     f"{got.get('input', '-')} | {paper or '-'} | `{model['Config']}` |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--write', action='store_true', help='write the metafiles and the JSON')
    mode.add_argument('--check', action='store_true', help='exit 1 on any difference')
    mode.add_argument('--table', action='store_true',
                      help='measure nothing: print the markdown table of the JSON and the metafiles')
    parser.add_argument('--lib', nargs='+', choices=LIBS, default=list(LIBS))
    parser.add_argument('--models', nargs='+', metavar='PATTERN', help='model names (fnmatch)')
    parser.add_argument('--params-only', action='store_true', help='skip the FLOPs (slow for det/seg)')
    parser.add_argument('--json', default=FIGURES, help='figures file (default: %(default)s)')
    args = parser.parse_args(argv)

    stored = json.load(open(args.json)) if osp.isfile(args.json) else {}
    models = list(selected(args.lib, args.models))
    if not models:
        parser.error(f'no model of {args.lib} matches --models {args.models}')
    if args.table:
        print(render_table(models, stored), end='')
        return 0
    from restv2_mm.engine import AtomicLocalBackend
    errors = []
    for lib, model in models:
        name, start = model['Name'], time.time()
        got = measure(model['Config'], args.params_only)
        flops = f", {got['FLOPs'] / 1e9:.3f} GFLOPs at {got['input']}" if 'FLOPs' in got else ''
        print(f"{name}: {got['Parameters']:,} params{flops} ({time.time() - start:.0f} s)", flush=True)
        if args.check:
            errors += mismatches(name, model, got)
        else:  # --params-only keeps the stored FLOPs
            stored[name] = dict(stored.get(name, {}), **got) if args.params_only else got
            got = stored[name]
            write_metadata(metafile(lib), {name: got})
            AtomicLocalBackend().put_text(json.dumps(stored, indent=2, sort_keys=True) + '\n',
                                          args.json)
    if errors:
        print('metafile figures differ from the measurement:\n  ' + '\n  '.join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
