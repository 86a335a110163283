"""Measure Parameters and FLOPs of every model in the metafiles; write them or check them.

    python tools/analysis_tools/model_zoo.py --write [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]
    python tools/analysis_tools/model_zoo.py --check [--lib mmpretrain ...] [--models NAME ...]
        [--params-only]
    python tools/analysis_tools/model_zoo.py --table [--lib mmpretrain ...] [--models NAME ...]

For each model of configs/{mmpretrain,mmdet,mmseg}/metafile.yml, the figures of
:mod:`restv2_mm.apis.model_zoo` (exact parameter count; multiply-adds of the tensor forward at the
paper's input size). --write puts them into the metafiles' ``Metadata: {FLOPs, Parameters}`` and
into docs/model_zoo_figures.json (merged, so runs can be split with --lib / --models); --check
exits 1 naming every model whose metafile differs from the measurement (Parameters exactly; FLOPs
to 1e-4 relative, as detection proposals come from a random image). --table measures nothing: it
prints the markdown table of the selected models, figures from docs/model_zoo_figures.json beside
the papers' results from the metafiles (the tables of README.md and docs/model_zoo.md;
tests/test_docs/test_tables.py checks them).
"""
import argparse
import os.path as osp
import sys
import time

import restv2_mm  # noqa: F401  (registers the backbones)
from restv2_mm.apis import (
    measure_model,
    metadata_mismatches,
    metafile_models,
    render_model_zoo,
    write_metadata,
)
from restv2_mm.utils import read_json, write_json

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LIBS = ('mmpretrain', 'mmdet', 'mmseg')
FIGURES = osp.join(REPO, 'docs', 'model_zoo_figures.json')


def metafile(lib):
    return osp.join(REPO, 'configs', lib, 'metafile.yml')


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

    stored = read_json(args.json) if osp.isfile(args.json) else {}
    models = list(metafile_models({lib: metafile(lib) for lib in args.lib}, args.models or ()))
    if not models:
        parser.error(f'no model of {args.lib} matches --models {args.models}')
    if args.table:
        print(render_model_zoo(models, stored), end='')
        return 0
    errors = []
    for lib, model in models:
        name, start = model['Name'], time.time()
        got = measure_model(osp.join(REPO, model['Config']), model['Config'], args.params_only)
        flops = f", {got['FLOPs'] / 1e9:.3f} GFLOPs at {got['input']}" if 'FLOPs' in got else ''
        print(f"{name}: {got['Parameters']:,} params{flops} ({time.time() - start:.0f} s)", flush=True)
        if args.check:
            errors += metadata_mismatches(model, got)
        else:  # --params-only keeps the stored FLOPs
            stored[name] = dict(stored.get(name, {}), **got) if args.params_only else got
            write_metadata(metafile(lib), {name: stored[name]})
            write_json(args.json, stored, indent=2, sort_keys=True)
    if errors:
        print('metafile figures differ from the measurement:\n  ' + '\n  '.join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
