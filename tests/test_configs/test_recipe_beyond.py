"""The ResTv2 detectors and segmentors beyond the paper (RetinaNet, Cascade Mask R-CNN, Semantic
FPN) against one rule and their named framework recipes: docs/configs.md, "ResTv2 beyond the
paper", rows R-RULE-* and R-BEYOND-*.

The rule: what the paper's Mask R-CNN recipe (detection) or UperNet recipe (segmentation) sets on
the backbone and the optimizer carries over unchanged; heads, data, schedule, lr and weight decay
come from a named framework recipe. Expected values are literals from the ResTv2 paper and
official code, the PVTv2 paper and release, mmdet's stock files and the RMT release, never read
back from our configs. The optimizers these configs build (which parameter decays, at which lr)
are checked parameter by parameter in test_recipe_coco.py and test_recipe_ade.py."""
import ast
import glob
import json
import os.path as osp
import re

import pytest

from helpers import expand

ARCHS = {'t': 'tiny', 's': 'small', 'b': 'base'}
DPR = {'t': 0.1, 's': 0.2, 'b': 0.3}  # appendix C.2, for detection and segmentation alike
STYLES = ('global', 'win', 'cwin', 'hwin')
# Config: (lr, weight decay). Mask R-CNN and UperNet are the paper's (appendix C.2); the others
# take their framework's: RetinaNet 1e-4 / 1e-4 (PVTv2 4.2, RMT supplement B), Cascade 1e-4 /
# 0.05 (RMT supplement B), Semantic FPN 1e-4 / 1e-4 (PVTv2 4.3 and its release, RMT release).
DETECTION = {
    **{f'mmdet/mask_rcnn_restv2_{a}_3x.py': (1e-4, 0.05) for a in 'tsb'},
    **{f'mmdet/mask_rcnn_restv2_t_{s}_1x.py': (1e-4, 0.05) for s in STYLES},
    **{f'mmdet/retinanet_restv2_{a}_1x.py': (1e-4, 1e-4) for a in 'tsb'},
    **{f'mmdet/cascade_mask_rcnn_restv2_{a}_3x.py': (1e-4, 0.05) for a in 'tsb'},
}
SEGMENTATION = {
    **{f'mmseg/upernet_restv2_{a}_512x512_160k_ade20k.py': (1.5e-4, 0.05) for a in 'tsb'},
    **{f'mmseg/fpn_restv2_{a}_512x512_{n}k_ade20k.py': (1e-4, 1e-4) for a in 'tsb' for n in (40, 80)},
}
# The released UperNet-T file, reproduced as it is (docs/recipes.md, rows R-ADEOFF-*).
OUTSIDE = {'mmseg/upernet_restv2_t_512x512_160k_ade20k_official.py'}
RESTV2_DIMS = [96, 192, 384, 768]


def arch_of(name):
    return re.search(r'_restv2_([tsb])_', name).group(1)


def check_backbone(cfg, arch):
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch) == ('ResTv2', ARCHS[arch])
    assert backbone.drop_path_rate == DPR[arch]
    init = backbone.init_cfg  # the ImageNet model's best non-EMA weights (C.1, C.2)
    assert (init.type, init.weights) == ('Pretrained', 'model')


def check_optimizer(cfg, lr, decay):
    wrapper = cfg.optim_wrapper
    # bf16 AMP as every ResTv2 config (tools/train.py falls back to fp16 / fp32), no loss scaler
    assert (wrapper.type, wrapper.dtype, wrapper.loss_scale) == \
        ('AmpOptimWrapper', 'bfloat16', {'enabled': False})
    assert wrapper.optimizer == dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=decay)
    return wrapper


@pytest.mark.parametrize('name', sorted(DETECTION))
def test_detectors_follow_the_detection_rule(load_config, name):
    # R-RULE-01 R-RULE-02 R-RULE-03 R-RULE-04 R-RULE-05 R-RULE-06 R-RULE-07
    cfg = load_config(name)
    check_backbone(cfg, arch_of(name))
    wrapper = check_optimizer(cfg, *DETECTION[name])
    # Base-RCNN-FPN.yaml SOLVER.CLIP_GRADIENTS: full model, L2, 0.01.
    assert wrapper.clip_grad == dict(max_norm=0.01, norm_type=2)
    # detectron2's rule: no decay on torch norm layers; the backbone's output norms (a plain
    # module in the official code) decayed. No layer-wise lr decay: the default constructor.
    assert wrapper.paramwise_cfg == dict(norm_decay_mult=0.,
                                         custom_keys={'backbone.norm': dict(decay_mult=1.)})
    assert 'constructor' not in wrapper


@pytest.mark.parametrize('name', sorted(SEGMENTATION))
def test_segmentors_follow_the_segmentation_rule(load_config, name):
    # R-RULE-01 R-RULE-02 R-RULE-03 R-RULE-04 R-RULE-05 R-RULE-06 R-RULE-07
    cfg = load_config(name)
    check_backbone(cfg, arch_of(name))
    wrapper = check_optimizer(cfg, *SEGMENTATION[name])
    assert wrapper.get('clip_grad') is None  # the released UperNet files set no grad_clip
    # The released S/B files: stage-wise decay 0.9; ConvNeXt's constructor exempts every 1-D
    # parameter and bias from weight decay.
    assert wrapper.constructor == 'ResTv2LearningRateDecayOptimizerConstructor'
    assert wrapper.paramwise_cfg == dict(decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.,
                                         bias_decay_mult=0., flat_decay_mult=0.)


def rule_coverage(repo_root):
    """{config: task column} of docs/configs.md's table "Which configs follow it"."""
    text = open(osp.join(repo_root, 'docs', 'configs.md')).read()
    table = text.split('### Which configs follow it', 1)[1].split('\n\n')[1]
    covered = {}
    for line in table.splitlines()[2:]:
        configs, task = [c.strip() for c in line.strip('|').split('|')][:2]
        for pattern in re.findall(r'`configs/([^`]+)`', configs):
            covered.update({name: task for name in expand(pattern)})
    return covered


def test_the_rule_table_covers_every_restv2_detector_and_segmentor(repo_root):
    configs = osp.join(repo_root, 'configs')
    on_disk = {osp.relpath(p, configs) for lib in ('mmdet', 'mmseg')
               for p in glob.glob(osp.join(configs, lib, '*restv2*.py'))}
    assert set(DETECTION) | set(SEGMENTATION) | OUTSIDE == on_disk  # every one is checked here
    covered = rule_coverage(repo_root)
    assert set(covered) == on_disk
    assert {n for n, task in covered.items() if task == 'detection'} == set(DETECTION)
    assert {n for n, task in covered.items() if task == 'segmentation'} == set(SEGMENTATION)
    assert {n for n, task in covered.items() if task.startswith('none')} == OUTSIDE


def base_chain(path):
    """Every config ``path`` inherits from, nearest first: our files by path, stock ones
    (``mmdet::...``) by name."""
    tree = ast.parse(open(path).read())
    bases = [ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
             and any(getattr(t, 'id', None) == '_base_' for t in node.targets)]
    chain = []
    for base in ([b] if isinstance(b, str) else b for b in bases):
        for name in base:
            if '::' in name:
                chain.append(name)
            else:
                local = osp.normpath(osp.join(osp.dirname(path), name))
                chain += [local] + base_chain(local)
    return chain


def test_no_restv2_config_inherits_an_rmt_config(repo_root):
    paths = glob.glob(osp.join(repo_root, 'configs', '**', '*restv2*.py'), recursive=True)
    assert len(paths) > 40
    for path in paths:
        chain = base_chain(path)
        assert not [b for b in chain if 'rmt' in osp.basename(b).lower()], (path, chain)
        assert all('restv2' in osp.basename(b) or '::' in b for b in chain), (path, chain)


def steps(cfg):
    warmup, step = cfg.param_scheduler
    return ((warmup.type, warmup.start_factor, warmup.begin, warmup.end, warmup.by_epoch),
            (step.type, step.milestones, step.gamma, step.by_epoch), cfg.train_cfg.max_epochs)


@pytest.mark.parametrize('arch', 'tsb')
def test_retinanet_framework_recipe(load_config, arch):
    # R-BEYOND-01
    cfg = load_config(f'mmdet/retinanet_restv2_{arch}_1x.py')
    neck = cfg.model.neck  # mmdet pvt/retinanet_pvtv2-b0_fpn_1x_coco.py + retinanet_r50_fpn.py
    assert (cfg.model.type, neck.in_channels, neck.start_level, neck.add_extra_convs, neck.num_outs) == \
        ('RetinaNet', RESTV2_DIMS, 1, 'on_input', 5)
    assert cfg.model.bbox_head.type == 'RetinaHead'
    # mmdet schedule_1x.py: linear warm-up 500 iterations from 0.001, x0.1 after epochs 8 and 11.
    assert steps(cfg) == (('LinearLR', 0.001, 0, 500, False), ('MultiStepLR', [8, 11], 0.1, True), 12)
    assert cfg.train_dataloader.batch_size * 8 == 16 and cfg.auto_scale_lr.base_batch_size == 16
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'Resize'][0]
    assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio
    assert cfg.find_unused_parameters is True  # stage 1's output norm feeds nothing


def short_sides(resize):
    """The short sides of a keep-ratio RandomChoiceResize, each with long side 1333."""
    assert resize.type == 'RandomChoiceResize' and resize.keep_ratio
    assert all(max(s) == 1333 for s in resize.scales)
    return [min(s) for s in resize.scales]


@pytest.mark.parametrize('arch', 'tsb')
def test_cascade_framework_recipe(load_config, arch):
    # R-BEYOND-02
    cfg = load_config(f'mmdet/cascade_mask_rcnn_restv2_{arch}_3x.py')
    model = cfg.model
    assert (model.type, model.roi_head.num_stages, model.neck.in_channels) == ('CascadeRCNN', 3, RESTV2_DIMS)
    stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
    for head, std in zip(model.roi_head.bbox_head, stds):  # 4conv1fc, GIoU, SyncBN
        assert (head.type, head.num_shared_convs, head.num_shared_fcs, head.loss_bbox.type,
                head.loss_bbox.loss_weight, head.norm_cfg.type) == \
            ('ConvFCBBoxHead', 4, 1, 'GIoULoss', 10.0, 'SyncBN')
        assert list(head.bbox_coder.target_stds) == std and head.reg_decoded_bbox
    assert steps(cfg) == (('LinearLR', 0.001, 0, 1000, False), ('MultiStepLR', [27, 33], 0.1, True), 36)
    assert cfg.train_dataloader.batch_size * 8 == 16
    # Flip, then 480..800 (step 32) or 400/500/600 + a 384..600 crop + 480..800.
    pipeline = cfg.train_dataloader.dataset.pipeline
    types = [t.type for t in pipeline]
    assert types[2:] == ['RandomFlip', 'RandomChoice', 'PackDetInputs']
    multi, crop = pipeline[3].transforms
    assert short_sides(multi[0]) == list(range(480, 801, 32))
    assert short_sides(crop[0]) == [400, 500, 600] and short_sides(crop[2]) == list(range(480, 801, 32))
    assert (crop[1].type, crop[1].crop_type, tuple(crop[1].crop_size)) == \
        ('RandomCrop', 'absolute_range', (384, 600))
    assert cfg.checkpoint_file is None  # the ConvNeXt base's checkpoint is not used


def check_semantic_fpn(cfg, iters, eta_min):
    model = cfg.model
    assert (model.neck.type, model.neck.out_channels, model.neck.num_outs) == ('FPN', 256, 4)
    head = model.decode_head
    assert (head.type, head.channels, head.dropout_ratio, head.num_classes) == ('FPNHead', 128, 0.1, 150)
    assert model.get('auxiliary_head') is None
    poly, = cfg.param_scheduler  # no warm-up
    assert (poly.type, poly.power, poly.eta_min, poly.begin, poly.end, poly.by_epoch) == \
        ('PolyLR', 0.9, eta_min, 0, iters, False)
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (iters, 4000)
    assert cfg.default_hooks.checkpoint.interval == 4000
    assert cfg.train_dataloader.batch_size * 8 == 16
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert tuple(train['RandomResize'].scale) == (2048, 512)
    assert tuple(train['RandomCrop'].crop_size) == (512, 512)
    test = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
    assert tuple(test['Resize'].scale) == (2048, 512) and test['Resize'].keep_ratio  # short side 512


@pytest.mark.parametrize('arch', 'tsb')
def test_semantic_fpn_framework_recipes(load_config, arch):
    # R-BEYOND-03 R-BEYOND-04
    # PVTv2 4.3: 40k iterations, batch 16, poly power 0.9; its release: min_lr 0, evaluation
    # every 8000 // 2. The RMT release's schedule_80k.py: poly power 0.9 to 1e-6, evaluation
    # every 4000. Both: AdamW lr 1e-4, weight decay 1e-4.
    for iters, eta_min in ((40000, 0.), (80000, 1e-6)):
        cfg = load_config(f'mmseg/fpn_restv2_{arch}_512x512_{iters // 1000}k_ade20k.py')
        check_semantic_fpn(cfg, iters, eta_min)
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 1e-4)


def flat(cfg, prefix=''):
    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            out.update(flat(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def differences(a, b):
    """The dotted keys whose values differ between two configs (or that only one has)."""
    a, b = flat(a.to_dict()), flat(b.to_dict())
    return {k for k in a.keys() | b.keys() if a.get(k, KeyError) != b.get(k, KeyError)}


# What a side-by-side pair may differ in: the backbone, the FPN's input widths, the optimizer
# wrapper (the ResTv2 rule: AMP, lr decay, exemptions) and the data loader's worker count.
SIDE_BY_SIDE = ('model.backbone.', 'model.neck.in_channels', 'optim_wrapper.', 'train_dataloader.num_workers')


def test_pvtv2_b2_semantic_fpn_is_the_same_recipe(load_config, build_model, repo_root):
    # R-BEYOND-05
    pvt = load_config('mmseg/fpn_pvtv2_b2_512x512_40k_ade20k.py')
    check_semantic_fpn(pvt, 40000, 0.)
    backbone = pvt.model.backbone  # PVTv2-B2: 64..512 channels, 3, 4, 6, 3 blocks
    assert (backbone.type, backbone.embed_dims, backbone.num_layers, backbone.drop_path_rate) == \
        ('mmdet.PyramidVisionTransformerV2', 64, [3, 4, 6, 3], 0.1)
    # PVTv2's own optimizer settings: AdamW 1e-4, weight decay 1e-4 on every parameter, fp32.
    assert pvt.optim_wrapper.type == 'OptimWrapper' and 'paramwise_cfg' not in pvt.optim_wrapper
    assert pvt.optim_wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    ours = load_config('mmseg/fpn_restv2_t_512x512_40k_ade20k.py')
    assert all(k.startswith(SIDE_BY_SIDE) for k in differences(pvt, ours))
    model = build_model(pvt)  # PVTv2 Table 5: 29.1M parameters, 45.8 GFLOPs at 512x512
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == 29.1
    # docs/fpn_flops.json, tools/analyze_flops.py's count of the same config at 512x512.
    measured = {r['config']: r for r in json.load(open(osp.join(repo_root, 'docs', 'fpn_flops.json')))}
    row = measured['fpn_pvtv2_b2_512x512_40k_ade20k.py']
    assert (row['input'], round(row['params_M'], 1), round(row['GFLOPs'], 1)) == ('512x512', 29.1, 45.8)


def test_restv2_and_rmt_semantic_fpn_80k_are_the_same_recipe(load_config):
    # R-BEYOND-06
    rmt = load_config('mmseg/fpn_rmt_t_512x512_80k_ade20k.py')
    ours = load_config('mmseg/fpn_restv2_t_512x512_80k_ade20k.py')
    diff = differences(rmt, ours)
    assert all(k.startswith(SIDE_BY_SIDE) for k in diff)
    assert {'model.backbone.type', 'optim_wrapper.type', 'optim_wrapper.constructor'} <= diff
