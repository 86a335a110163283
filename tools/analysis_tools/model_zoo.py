"""Measure Parameters and FLOPs of every model in the metafiles; write them or check them.

    python tools/analysis_tools/model_zoo.py --write [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]
    python tools/analysis_tools/model_zoo.py --check [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]

For each model of configs/{mmpretrain,mmdet,mmseg}/metafile.yml: the config's model is built as
tools/analyze_flops.py builds it (random weights, eval mode); Parameters is the exact count of its
parameters, FLOPs the multiply-adds of its tensor forward (restv2_mm.analysis.analyze_flops) on one
random image of the paper's size: classifiers at the test pipeline's crop (224 or 384), Mask R-CNN
at 1280x800, UperNet at 2048x512 (analyze_flops.py's defaults). --write puts the figures into the
metafiles' ``Metadata: {FLOPs, Parameters}`` and into docs/model_zoo_figures.json (merged, so runs
can be split with --lib / --models); --check exits 1 naming every model whose metafile differs from
the measurement (Parameters exactly; FLOPs to 1e-4 relative, as detection proposals come from a
random image).
"""
import argparse
import fnmatch
import json
import os.path as osp
import re
import sys
import time

import torch
import yaml

import restv2_mm  # noqa: F401
from restv2_mm.analysis import analyze_flops, count_params
from restv2_mm.analysis.model_io import (
    DEFAULT_SHAPES,
    TensorForward,
    build_model,
    config_scope,
    fixed_input,
    load_config,
)
from restv2_mm.engine import AtomicLocalBackend

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIBS = ('mmpretrain', 'mmdet', 'mmseg')
FIGURES = osp.join(REPO, 'docs', 'model_zoo_figures.json')
FLOPS_RTOL = 1e-4


def metafile(lib):
    return osp.join(REPO, 'configs', lib, 'metafile.yml')


def input_shape(cfg, scope):
    """(H, W): a classifier's test-pipeline crop (last CenterCrop / Resize size), else the paper's."""
    if scope == 'mmpretrain':
        size = None
        for step in cfg.test_dataloader.dataset.pipeline:
            size = step.get('crop_size', step.get('scale') if step['type'] == 'Resize' else None) or size
        if size:
            return (size, size) if isinstance(size, int) else tuple(size)[::-1]
    return DEFAULT_SHAPES[scope]


def measure(config, params_only=False):
    """dict(input='WxH', Parameters=int[, FLOPs=int]) of the config's model."""
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--write', action='store_true', help='write the metafiles and the JSON')
    mode.add_argument('--check', action='store_true', help='exit 1 on any difference')
    parser.add_argument('--lib', nargs='+', choices=LIBS, default=list(LIBS))
    parser.add_argument('--models', nargs='+', metavar='PATTERN', help='model names (fnmatch)')
    parser.add_argument('--params-only', action='store_true', help='skip the FLOPs (slow for det/seg)')
    parser.add_argument('--json', default=FIGURES, help='figures file (default: %(default)s)')
    args = parser.parse_args(argv)

    stored = json.load(open(args.json)) if osp.isfile(args.json) else {}
    errors, seen = [], 0
    for lib in args.lib:
        models = yaml.safe_load(open(metafile(lib)))['Models']
        for model in models:
            name = model['Name']
            if args.models and not any(fnmatch.fnmatch(name, p) for p in args.models):
                continue
            seen, start = seen + 1, time.time()
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
    if not seen:
        parser.error(f'no model of {args.lib} matches --models {args.models}')
    if errors:
        print('metafile figures differ from the measurement:\n  ' + '\n  '.join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
