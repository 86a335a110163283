"""ADE20K UperNet recipes: the paper's (5.2, appendix C.2; our default configs) and the released
mmseg files' (semantic_segmentation/configs/ResTv2/*.py, run with mmseg 0.x and mmcv 1.x).

Rows R-ADE-* and R-ADEOFF-* of docs/recipes.md. Expected values are literals from the paper and
the official code (and mmseg 0.x / mmcv 1.x behaviour), never read back from our configs."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

import restv2_mm  # noqa: F401

DPR = {'t': 0.1, 's': 0.2, 'b': 0.3}  # appendix C.2 and the released files
PAPER = {a: f'mmseg/upernet_restv2_{a}_512x512_160k_ade20k.py' for a in 'tsb'}
OFFICIAL_T = 'mmseg/upernet_restv2_t_512x512_160k_ade20k_official.py'
# mmseg 0.x tools/test.py --aug-test: MultiScaleFlipAug(img_scale=(2048, 512)) with these ratios
# and flip=True.
RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


def check_shared_recipe(cfg):
    """Model, data, schedule and test settings that the paper's and the released configs share."""
    model = cfg.model
    head, aux = model.decode_head, model.auxiliary_head  # _base_/models/upernet_restv2.py
    assert (head.type, head.channels, tuple(head.pool_scales), head.num_classes) == (
        'UPerHead', 512, (1, 2, 3, 6), 150)
    assert head.in_channels == [96, 192, 384, 768] and head.dropout_ratio == 0.1
    assert (aux.type, aux.in_index, aux.channels, aux.num_classes) == ('FCNHead', 2, 256, 150)
    assert aux.loss_decode.loss_weight == 0.4 and head.loss_decode.loss_weight == 1.0
    assert head.norm_cfg.type == 'SyncBN' and aux.norm_cfg.type == 'SyncBN'
    assert model.test_cfg.mode == 'whole'
    init = model.backbone.init_cfg  # appendix C.2: best (non-EMA) ImageNet weights
    assert (init.type, init.weights) == ('Pretrained', 'model')
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_dataloader.batch_size * 8 == 16
    warm, poly = cfg.param_scheduler  # mmcv: policy poly, warmup linear 1500, ratio 1e-6
    assert (warm.type, warm.start_factor, warm.begin, warm.end) == ('LinearLR', 1e-6, 0, 1500)
    assert (poly.type, poly.power, poly.eta_min, poly.begin, poly.end) == ('PolyLR', 1.0, 0.0, 0, 160000)
    # mmseg 0.x _base_/datasets/ade20k.py
    assert tuple(cfg.crop_size) == (512, 512)
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert tuple(train['RandomResize'].scale) == (2048, 512)
    assert tuple(train['RandomResize'].ratio_range) == (0.5, 2.0) and train['RandomResize'].keep_ratio
    assert tuple(train['RandomCrop'].crop_size) == (512, 512)
    assert train['RandomCrop'].cat_max_ratio == 0.75
    assert train['RandomFlip'].prob == 0.5 and 'PhotoMetricDistortion' in train
    assert train['LoadAnnotations'].reduce_zero_label
    pre = model.data_preprocessor  # Pad(size=crop_size, pad_val=0, seg_pad_val=255)
    assert tuple(pre.size) == (512, 512) and pre.pad_val == 0 and pre.seg_pad_val == 255
    test = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
    assert tuple(test['Resize'].scale) == (2048, 512) and test['Resize'].keep_ratio


@pytest.mark.parametrize('arch', 'tsb')
def test_paper_recipe(load_config, arch):
    # R-ADE-01 R-ADE-02 R-ADE-05 R-ADE-06 R-ADE-07 R-ADE-08 R-ADE-09 R-ADE-11 R-ADE-12 R-ADE-13
    # R-ADE-14
    cfg = load_config(PAPER[arch])
    check_shared_recipe(cfg)
    assert cfg.model.backbone.drop_path_rate == DPR[arch]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, tuple(opt.betas)) == ('AdamW', 1.5e-4, 0.05, (0.9, 0.999))
    pw = cfg.optim_wrapper.paramwise_cfg
    assert (pw.decay_rate, pw.decay_type) == (0.9, 'stage_wise')
    # The release trains in fp32; ours in bf16 AMP on GPUs.
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype) == ('AmpOptimWrapper', 'bfloat16')


def test_official_t_recipe(load_config):
    # R-ADEOFF-01 R-ADEOFF-04 R-ADEOFF-05 R-ADEOFF-06
    cfg = load_config(OFFICIAL_T)
    check_shared_recipe(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # fp32, as released
    assert cfg.model.backbone.drop_path_rate == 0.1
    opt = cfg.optim_wrapper.optimizer  # upernet_restv2_tiny_512_160k_ade20k.py
    assert (opt.type, opt.lr, opt.weight_decay, tuple(opt.betas)) == ('AdamW', 6e-5, 0.01, (0.9, 0.999))


# The segmentation rule of docs/configs.md ("ResTv2 beyond the paper") carries this optimizer to
# Semantic FPN with its framework's lr and weight decay. Per config: (lr, weight decay, some
# neck and head parameters, which take the full lr).
SEGMENTORS = {
    PAPER['t']: (1.5e-4, 0.05, ('decode_head.conv_seg.weight', 'decode_head.fpn_bottleneck.conv.weight',
                                'auxiliary_head.convs.0.bn.weight')),
    'mmseg/fpn_restv2_t_512x512_80k_ade20k.py': (1e-4, 1e-4, (
        'neck.lateral_convs.0.conv.weight', 'decode_head.scale_heads.3.0.bn.weight',
        'decode_head.conv_seg.bias')),
}


@pytest.mark.parametrize('name', sorted(SEGMENTORS))
def test_paper_lr_decay_and_weight_decay(build_model, load_config, optimizer_settings, name):
    # R-ADE-03 R-ADE-04 R-RULE-03 R-RULE-04
    cfg = load_config(name)
    lr, decay, heads = SEGMENTORS[name]
    model = build_model(cfg)
    got = optimizer_settings(model, cfg.optim_wrapper)
    # Our stage-wise depths (stem 0, stage i with its patch embedding i, neck/heads 5 of 6):
    # lr = base lr * 0.9 ** (5 - depth).
    power = {'backbone.stem.proj.0.weight': 5, 'backbone.stem.norm.weight': 5,
             'backbone.stage1.0.attn.q.weight': 4, 'backbone.norm0.weight': 4,
             'backbone.patch_2.proj.weight': 3, 'backbone.patch_2.pos.pa_conv.weight': 3,
             'backbone.stage2.1.mlp.fc1.weight': 3, 'backbone.stage3.5.attn.sr.weight': 2,
             'backbone.patch_4.norm.bias': 1, 'backbone.stage4.1.mlp.fc2.weight': 1,
             'backbone.norm3.weight': 1, **{n: 0 for n in heads}}
    for n, p in power.items():
        assert got[n][0] == pytest.approx(lr * 0.9 ** p), n
    assert all(got[n][0] == pytest.approx(lr) for n in got if not n.startswith('backbone.'))
    # ConvNeXt's LearningRateDecayOptimizerConstructor (named by the released S/B files): no
    # decay where len(param.shape) == 1 or the name ends in .bias, the weight decay elsewhere,
    # whole model.
    for n, p in model.named_parameters():
        assert got[n][1] == (0.0 if p.ndim == 1 or n.endswith('.bias') else decay), n


def test_official_t_optimizer(build_model, load_config, optimizer_settings):
    # R-ADEOFF-02 R-ADEOFF-03
    cfg = load_config(OFFICIAL_T)
    model = build_model(cfg)
    got = optimizer_settings(model, cfg.optim_wrapper)
    # mmcv DefaultOptimizerConstructor with custom_keys {'norm': decay_mult 0}: one lr, and no
    # decay exactly where 'norm' is in the parameter name (the heads' BN are '.bn.': decayed).
    for n, _ in model.named_parameters():
        assert got[n] == (pytest.approx(6e-5), 0.0 if 'norm' in n else 0.01), n
    assert got['decode_head.bottleneck.bn.weight'][1] == 0.01
    assert got['backbone.stem.proj.1.weight'][1] == 0.01  # the stem's BN is named proj.1


def mmcv_poly_with_warmup(t, base=1.5e-4, max_iters=160000, warmup=1500, ratio=1e-6):
    """mmcv 1.x PolyLrUpdaterHook(power=1, min_lr=0) with warmup='linear', as the released files
    set it: the regular lr is the poly value at iteration t, the warm-up multiplies it."""
    regular = base * (1 - t / max_iters) ** 1.0
    k = (1 - t / warmup) * (1 - ratio)
    return np.where(t < warmup, regular * (1 - k), regular)


def test_schedule_matches_mmcv_poly_with_warmup(load_config, lr_curve):
    # R-ADE-05 R-ADE-06
    cfg = load_config(PAPER['t'])
    got = lr_curve(cfg.param_scheduler, 1.5e-4, iters=160000)
    t = np.arange(160000)
    want = mmcv_poly_with_warmup(t)
    # mmengine counts a span of n steps as n - 1 (LinearLR reaches 1 at 1499, PolyLR 0 at
    # 159999): relative differences stay below 1e-3 except in the last iterations.
    assert np.allclose(got[:150000], want[:150000], rtol=1e-3, atol=0)
    assert np.allclose(got, want, rtol=0, atol=1e-3 * 1.5e-4)


def expected_tta_sizes(h, w):
    """mmcv rescale_size for each (int(2048 r), int(512 r)) bound: factor = min(long_max / long
    side, short_max / short side), new size int(x * factor + 0.5)."""
    sizes = []
    for r in RATIOS:
        long_max, short_max = int(2048 * r), int(512 * r)
        f = min(long_max / max(h, w), short_max / min(h, w))
        sizes.append((int(h * f + 0.5), int(w * f + 0.5)))
    return sizes


@pytest.mark.parametrize('name', [PAPER['t'], OFFICIAL_T])
def test_multi_scale_flip_test_on_real_images(load_config, data_root, name):
    # R-ADE-10
    from mmengine.dataset import Compose
    from PIL import Image
    cfg = load_config(name)
    init_default_scope('mmseg')
    pipeline = Compose(cfg.tta_pipeline)
    images = sorted(glob.glob(osp.join(data_root, 'ade_mini', 'images', 'validation', '*.jpg')))
    assert len(images) == 3
    for path in images:
        w, h = Image.open(path).size
        seg = path.replace('images', 'annotations').replace('.jpg', '.png')
        out = pipeline(dict(img_path=path, seg_map_path=seg, reduce_zero_label=True, seg_fields=[]))
        got = [(tuple(x.shape[1:]), s.flip) for x, s in zip(out['inputs'], out['data_samples'])]
        want = [(size, flip) for size in expected_tta_sizes(h, w) for flip in (False, True)]
        assert got == want, path
        assert all(s.ori_shape == (h, w) for s in out['data_samples'])
    assert cfg.tta_model.type == 'SegTTAModel'  # averages the softmax of all 12 views


def test_s_and_b_official_files_are_the_paper_recipe(load_config, repo_root):
    # R-ADE-14
    # upernet_restv2_{small,base}_512_160k_ade20k.py: lr 0.00015, wd 0.05, decay_rate 0.9,
    # decay_type stage_wise, warm-up 1500 (ratio 1e-6), poly power 1, samples_per_gpu 2.
    for arch in 'sb':
        cfg = load_config(PAPER[arch])
        opt, pw = cfg.optim_wrapper.optimizer, cfg.optim_wrapper.paramwise_cfg
        assert (opt.lr, opt.weight_decay, pw.decay_rate, pw.decay_type) == (
            0.00015, 0.05, 0.9, 'stage_wise')
        assert not osp.exists(osp.join(repo_root, 'configs',
                                       PAPER[arch].replace('.py', '_official.py')))
