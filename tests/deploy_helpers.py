"""What the deployment tests share: narrow models of the shipped configs, heads made decisive, real
images, and the parity check of an exported file against PyTorch (restv2_mm.deployment.compare).

Random or one-step-trained heads score every class near 1/classes (or the focal-loss prior), so a
detector finds nothing above the score threshold and masks sit at probability 0.5; parity on such
outputs would check nothing. :func:`decisive_heads` scales the class and mask logits so that
scores and masks spread, and shifts the class scores so that the least confident image (among
them a blank one, :func:`blank_image`) keeps no detection while the others keep some (both sides
run these same weights).
"""
import glob
import os.path as osp
from typing import List, Optional, Sequence

import torch

from helpers import DATA, REPO

# One block a stage, every layer kind: exports in a fraction of the full model's time.
NARROW = {
    'ResTv2': dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                   sr_ratios=[8, 4, 2, 1]),
    'ResTv1': dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                   sr_ratios=[8, 4, 2, 1]),
    'RMT': dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8],
                mlp_ratios=[3] * 4, init_values=[2] * 4, heads_ranges=[4, 4, 6, 6],
                chunkwise_recurrents=[True, True, False, False], layerscales=[False] * 4),
}


def narrow_config(config: str, backbone: str = None, style: Optional[str] = None, **test_cfg):
    """The shipped ``config`` with a narrow backbone (``backbone``: its type, default the config's),
    the neck / heads' input channels to match, no auxiliary head, the test pipeline at the demo
    scale, and ``test_cfg`` overrides (e.g. ``rpn=dict(max_per_img=100)``)."""
    from restv2_mm.apis import load_config
    cfg = load_config(osp.join(REPO, config))
    kind = backbone or cfg.model.backbone.type
    cfg.model.backbone = dict(type=kind, arch=NARROW[kind], out_indices=(0, 1, 2, 3))
    if style:
        cfg.model.backbone['style'] = style
    dims = NARROW[kind]['embed_dims']
    if cfg.model.get('neck') and 'in_channels' in cfg.model.neck:  # FPN: every level; a
        multi = isinstance(cfg.model.neck.in_channels, (list, tuple))  # classifier's: the last
        cfg.model.neck.in_channels = dims if multi else dims[-1]
    if cfg.model.get('decode_head') and cfg.model.get('neck') is None:
        cfg.model.decode_head.in_channels = dims
    if cfg.model.get('head') and 'in_channels' in cfg.model.head:  # after a projecting neck: its width
        cfg.model.head.in_channels = (cfg.model.get('neck') or {}).get('out_channels', dims[-1])
    cfg.model.pop('auxiliary_head', None)
    for key, value in test_cfg.items():
        cfg.model.test_cfg[key].update(value)
    scale = {'mmdet': (512, 320), 'mmseg': (512, 256)}.get(cfg.default_scope)
    if scale:
        for t in cfg.test_dataloader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['scale'] = scale
    return cfg


def build_test_pipeline(cfg):
    """The config's test pipeline without annotation loading, built (as the exported file's)."""
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from restv2_mm.deployment.metadata import inference_pipeline
    init_default_scope(cfg.default_scope)
    return Compose(inference_pipeline(cfg))


def images(folder: str, n: Optional[int] = None) -> List[str]:
    """The first ``n`` images of ``folder`` under the data root, sorted (None: all)."""
    files = sorted(glob.glob(osp.join(DATA, folder, '*')))
    files = [f for f in files if f.lower().endswith(('.jpg', '.jpeg', '.png'))]
    assert n is None or len(files) >= n, f'{folder}: {len(files)} images'
    return files[:n]


# Four COCO val images whose keep-ratio resize to (512, 320) gives four input sizes, none all
# multiples of 32: 480x640, 424x640, 333x500, 640x358 -> 320x427, 320x483, 320x480, 512x286.
COCO_FOUR_SIZES = ('000000005001.jpg', '000000010764.jpg', '000000020992.jpg', '000000125952.jpg')


def coco_images(names=COCO_FOUR_SIZES) -> List[str]:
    """Paths of COCO val images by file name."""
    return [osp.join(DATA, 'coco_mini/val2017', name) for name in names]


def same_size_pair(folder: str) -> List[str]:
    """Two images of ``folder`` with the same size (a batch of 2 needs one input size)."""
    import mmcv
    seen = {}
    for path in images(folder):
        shape = mmcv.imread(path).shape
        if shape in seen:
            return [seen[shape], path]
        seen[shape] = path
    raise AssertionError(f'{folder}: no two images of the same size')


def _class_logits(model, pipeline, paths: Sequence[str]) -> List[torch.Tensor]:
    """Per image, the outputs of every classification layer (two-stage: ``fc_cls`` of each
    cascade stage, (RoIs, classes + 1); RetinaNet: ``retina_cls`` of each level)."""
    layers = [m.fc_cls for m in model.modules() if hasattr(m, 'fc_cls')] or \
        [model.bbox_head.retina_cls]
    out = []
    for path in paths:
        seen = []
        handles = [layer.register_forward_hook(lambda m, i, o: seen.append(o)) for layer in layers]
        data = pipeline(dict(img_path=path))
        with torch.no_grad():
            model.test_step(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))
        for h in handles:
            h.remove()
        out.append(seen)
    return out


def decisive_heads(model, pipeline, paths: Sequence[str], scale: float = 8.) -> int:
    """Scale the class and mask logits by ``scale`` (the heads' weights; RetinaNet's prior bias
    stays) and shift the class scores so that the least confident image of ``paths`` keeps no
    detection above the score threshold and the others some.

    Two-stage: the background logit of every ``fc_cls`` rises by d; RetinaNet: every class logit
    falls by d. d is set a little past the shift at which the least confident image's best
    candidate falls to the threshold (found from its candidates' logits, which d does not move),
    at most halfway to the next image's.

    Returns:
        The index of the image left without detections.
    """
    import math
    for m in model.modules():
        for name in ('fc_cls', 'conv_logits', 'retina_cls'):
            layer = getattr(m, name, None)
            if layer is not None:
                layer.weight.data *= scale
                if name != 'retina_cls':
                    layer.bias.data *= scale
    two_stage = hasattr(model, 'roi_head')
    thr = (model.roi_head.test_cfg if two_stage else model.bbox_head.test_cfg).score_thr
    needed = []  # per image: the shift at which its best candidate falls to the threshold
    for logits in _class_logits(model, pipeline, paths):
        if two_stage:
            mean = sum(logits) / len(logits)  # (RoIs, classes + 1): the cascade stages' mean
            fg, bg = mean[:, :-1], mean[:, -1]
            # p_c = e^{l_c} / (sum_fg e^l + e^{bg + d}) = thr  <=>  d = log(e^{l_c} / thr - sum_fg) - bg
            rest = fg.exp().sum(1, keepdim=True)
            d = torch.log((fg.exp() / thr - rest).clamp(min=1e-30)) - bg[:, None]
            needed.append(float(d.max()))
        else:
            needed.append(float(torch.cat([x.flatten() for x in logits]).max()) -
                          math.log(thr / (1 - thr)))
    empty = min(range(len(paths)), key=lambda i: needed[i])
    gap = min(v for i, v in enumerate(needed) if i != empty) - needed[empty]
    shift = needed[empty] + min(0.1, gap / 2)
    for m in model.modules():
        if hasattr(m, 'fc_cls'):
            m.fc_cls.bias.data[-1] += shift
        if hasattr(m, 'retina_cls'):
            m.retina_cls.bias.data -= shift
    return empty


def blank_image(folder) -> str:
    """A uniform grey 300x500 image (a blank wall: nothing to detect), written to ``folder``."""
    import mmcv
    import numpy as np
    path = osp.join(str(folder), 'blank.png')
    mmcv.imwrite(np.full((300, 500, 3), 128, np.uint8), path)
    return path


def export_file(model, cfg, path: str, dynamic: bool = True, shape=None) -> dict:
    """Export ``model`` (config ``cfg``) with the package's functions, as the tool does."""
    from restv2_mm.deployment import deploy_graph, export_onnx, model_metadata
    graph = deploy_graph(model, cfg.default_scope)
    return export_onnx(graph, str(path), shape, dynamic,
                       metadata=model_metadata(cfg, cfg.default_scope, graph, 'test'))


def assert_parity(model, path: str, paths: Sequence[str], batch_size: int = 1) -> list:
    """onnxruntime against PyTorch on ``paths`` (restv2_mm.deployment.compare's criteria).

    Returns:
        The comparison reports, one per image.
    """
    from restv2_mm.deployment import OnnxInferencer, compare, pytorch_predict
    inferencer = OnnxInferencer(str(path))
    refs = pytorch_predict(model, inferencer.pipeline, paths, batch_size)
    gots = inferencer.predict(paths, batch_size)
    reports = compare(inferencer.task, refs, gots, inferencer.meta['limits'])
    bad = {p: r['problems'] for p, r in zip(paths, reports) if not r['ok']}
    assert not bad, bad
    return reports
