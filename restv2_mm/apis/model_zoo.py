"""The model zoo's figures: Parameters and FLOPs of every model in the metafiles
(``configs/{mmpretrain,mmdet,mmseg}/metafile.yml``), measured, checked, written back and rendered
(``tools/analysis_tools/model_zoo.py``).

A model is built from its config as ``tools/analyze_flops.py`` builds it (random weights, eval
mode); Parameters is the exact count of its parameters, FLOPs the multiply-adds of its tensor
forward (:func:`restv2_mm.analysis.analyze_flops`) on one random image of the paper's size:
classifiers at the test pipeline's crop (224 or 384), Mask R-CNN at 1280x800, UperNet at 2048x512
(:data:`restv2_mm.apis.DEFAULT_SHAPES`).
"""
import fnmatch
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.config import Config

from ..analysis import analyze_flops, count_params
from ..utils import atomic_write, markdown_table
from .config_model import build_model, config_scope, load_config
from .model_inputs import DEFAULT_SHAPES, TensorForward, fixed_input

# Detection proposals come from a random image, so FLOPs may differ by this much between runs.
FLOPS_RTOL = 1e-4
METRICS = {'Top 1 Accuracy': 'top-1', 'Top 5 Accuracy': 'top-5'}
DATASETS = {'mmpretrain': 'ImageNet-1k', 'mmdet': 'COCO', 'mmseg': 'ADE20K'}


def input_shape(cfg: Config, scope: str) -> Tuple[int, int]:
    """(H, W): a classifier's test-pipeline crop (last CenterCrop / Resize size), else the paper's
    size of the scope."""
    if scope == 'mmpretrain':
        size = None
        for step in cfg.test_dataloader.dataset.pipeline:
            size = step.get('crop_size', step.get('scale') if step['type'] == 'Resize' else None) or size
        if size:
            return (size, size) if isinstance(size, int) else tuple(size)[::-1]
    return DEFAULT_SHAPES[scope]


def measure_model(config: str, name: Optional[str] = None, params_only: bool = False) -> dict:
    """``dict(config, input='WxH', Parameters=int[, FLOPs=int])`` of a config's model (seeded
    random weights; FLOPs as multiply-adds).

    Args:
        config: The config file.
        name: What ``config`` is called in the figures (default: ``config``).
        params_only: Skip the FLOPs (slow for detection and segmentation).

    Raises:
        FileNotFoundError: no such config.
    """
    cfg = load_config(config)
    name = name or config
    scope = config_scope(cfg, name)
    torch.manual_seed(0)
    model = build_model(cfg, name=name)
    shape = input_shape(cfg, scope)
    out = dict(config=name, input=f'{shape[1]}x{shape[0]}', Parameters=count_params(model))
    if not params_only:
        inputs, data_samples = fixed_input(scope, shape)
        with torch.no_grad():
            out['FLOPs'] = int(analyze_flops(TensorForward(model, scope, data_samples), inputs)['total'])
    return out


def metafile_models(metafiles: Dict[str, str], patterns: Sequence[str] = ()
                    ) -> Iterator[Tuple[str, dict]]:
    """(library, metafile entry) of every model of ``metafiles`` (library -> path) whose name
    matches one of ``patterns`` (fnmatch; none: all)."""
    for lib, path in metafiles.items():
        with open(path) as f:
            for model in yaml.safe_load(f)['Models']:
                if not patterns or any(fnmatch.fnmatch(model['Name'], p) for p in patterns):
                    yield lib, model


def write_metadata(path: str, figures: Dict[str, dict]) -> None:
    """Rewrite the ``Metadata:`` line of each model of ``figures`` (name -> measured figures) in the
    metafile at ``path``, in place (comments kept), atomically."""
    with open(path) as f:
        lines, name = f.read().splitlines(keepends=True), None
    for i, line in enumerate(lines):
        m = re.match(r'\s*- Name: (\S+)', line)
        if m:
            name = m.group(1)
        elif name in figures and re.match(r'\s{4}Metadata: \{.*\}\s*$', line):
            meta = {k: figures[name][k] for k in ('FLOPs', 'Parameters') if k in figures[name]}
            lines[i] = '    Metadata: {' + ', '.join(f'{k}: {v}' for k, v in meta.items()) + '}\n'
            name = None
    atomic_write(path, ''.join(lines))


def metadata_mismatches(model: dict, got: dict) -> List[str]:
    """What differs between a metafile entry's ``Metadata`` and the measurement ``got``, one line
    each naming the model: Parameters exactly, FLOPs to :data:`FLOPS_RTOL`."""
    meta = model.get('Metadata') or {}
    bad = []
    if meta.get('Parameters') != got['Parameters']:
        bad.append(f"Parameters {meta.get('Parameters')} != measured {got['Parameters']}")
    if 'FLOPs' in got:
        flops = meta.get('FLOPs')
        if flops is None or abs(flops - got['FLOPs']) > FLOPS_RTOL * got['FLOPs']:
            bad.append(f"FLOPs {flops} != measured {got['FLOPs']} ({got['input']})")
    return [f"{model['Name']}: {b}" for b in bad]


def _task(lib: str, model: dict) -> str:
    """'ImageNet-1k', or the dataset and the framework of the model's collection ('Cascade Mask
    R-CNN RMT' -> 'COCO Cascade Mask R-CNN')."""
    if lib == 'mmpretrain':
        return DATASETS[lib]
    return f"{DATASETS[lib]} {model['In Collection'].rsplit(' ', 1)[0]}"


def _gflops(flops) -> str:
    if flops is None:
        return '-'
    gflops = flops / 1e9
    return f'{gflops:.3f}' if gflops < 100 else f'{gflops:.1f}'


def render_model_zoo(models: Sequence[Tuple[str, dict]], figures: Dict[str, dict]) -> str:
    """Markdown table of metafile models (``(library, entry)``): the measured parameters and FLOPs
    (``figures``, name -> figures, as ``docs/model_zoo_figures.json`` keeps them) beside the papers'
    results (the entries' ``Results``)."""
    rows = []
    for lib, model in models:
        got = figures.get(model['Name'], {})
        paper = ', '.join(f'{METRICS.get(k, k)} {v}' for r in model.get('Results') or []
                          for k, v in r['Metrics'].items())
        params = f"{got['Parameters'] / 1e6:.2f}M" if 'Parameters' in got else '-'
        rows.append([f"`{model['Name']}`", _task(lib, model), params, _gflops(got.get('FLOPs')),
                     got.get('input', '-'), paper or '-', f"`{model['Config']}`"])
    return markdown_table(['model', 'task', 'params', 'GFLOPs', 'input', 'paper', 'config'], rows)
