"""ImageNet recipes (224 training, 384 fine-tuning) against the paper (4.1, appendix C.1 Table 8)
and the official code (main.py, datasets.py, optim_factory.py, utils.py, TRAINING.md).

Rows R-IN224-* and R-IN384-* of docs/recipes.md. Expected values are written here as literals
taken from the paper and the official code, never read back from our configs."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import restv2_mm  # noqa: F401

# Paper Table 8 / TRAINING.md: stochastic depth per model, head width.
ARCHS = {'t': (0.1, 768), 's': (0.2, 768), 'b': (0.3, 768), 'l': (0.5, 1024)}
# timm IMAGENET_DEFAULT_MEAN / STD (datasets.py, --imagenet_default_mean_and_std true), x 255.
RGB_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
RGB_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


def config(arch='t', size=224):
    return (f'mmpretrain/restv2_{arch}_8xb256_in1k.py' if size == 224 else
            f'mmpretrain/restv2_{arch}_8xb64_in1k-384px.py')


def transform(pipeline, name):
    found = [t for t in pipeline if t.type == name]
    assert len(found) == 1, f'{name} in {[t.type for t in pipeline]}'
    return found[0]


def official_cosine(base, final, epochs, niter, warmup_epochs):
    """utils.cosine_scheduler of the official code (start_warmup_value 0), transcribed."""
    warm = np.linspace(0, base, warmup_epochs * niter) if warmup_epochs else np.array([])
    n = epochs * niter - len(warm)
    cos = [final + 0.5 * (base - final) * (1 + math.cos(math.pi * i / n)) for i in range(n)]
    return np.concatenate([warm, cos])


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_pretraining_settings(load_config, arch):
    # R-IN224-03 R-IN224-04 R-IN224-05 R-IN224-06 R-IN224-08 R-IN224-14 R-IN224-15 R-IN224-17
    # R-IN224-18 R-IN224-19 R-IN224-20 R-IN224-29 R-IN224-30
    cfg = load_config(config(arch))
    dpr, width = ARCHS[arch]
    assert cfg.model.backbone.drop_path_rate == dpr and cfg.model.head.in_channels == width
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and tuple(opt.betas) == (0.9, 0.999) and opt.eps == 1e-8
    assert opt.lr == pytest.approx(1.5e-4 * 2048 / 256) and opt.weight_decay == 0.05
    assert cfg.train_dataloader.batch_size * 8 == 2048 and cfg.auto_scale_lr.base_batch_size == 2048
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'  # bf16: no loss scaler
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)
    assert cfg.optim_wrapper.dtype == 'bfloat16'  # ours: bf16 where the GPU has it
    assert cfg.optim_wrapper.clip_grad.max_norm == 1.0
    assert cfg.optim_wrapper.clip_grad.get('norm_type', 2) == 2
    loss = cfg.model.head.loss
    assert (loss.type, loss.label_smooth_val, loss.mode) == ('LabelSmoothLoss', 0.1, 'original')
    mixup, cutmix = cfg.model.train_cfg.augments
    assert (mixup.type, mixup.alpha, cutmix.type, cutmix.alpha) == ('Mixup', 0.8, 'CutMix', 1.0)
    assert cfg.model.train_cfg.get('probs') is None  # evenly: switch_prob 0.5, mixup_prob 1.0
    ema, = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert 1 - ema.momentum == pytest.approx(0.9999) and ema.update_buffers
    assert ema.get('interval', 1) == 1 and ema.get('begin_iter', 0) == 0
    assert 'save_best' not in cfg.default_hooks.checkpoint
    assert not cfg.val_cfg.get('fp16') and not cfg.test_cfg.get('fp16')


def test_pretraining_lr_schedule(load_config, lr_curve):
    # R-IN224-09 R-IN224-10 R-IN224-11
    cfg = load_config(config())
    base = 1.5e-4 * 2048 / 256
    got = lr_curve(cfg.param_scheduler, base, iters=300 * 4, epoch_length=4)
    want = official_cosine(base, 1e-6, epochs=300, niter=4, warmup_epochs=50)
    # Same curve, per iteration; the warm-up starts at 1e-3 x lr instead of 0 (mmengine's
    # chained LinearLR cannot start from 0), which is the whole difference.
    assert np.allclose(got, want, rtol=0, atol=1.01e-3 * base)
    assert np.allclose(got[200:], want[200:], rtol=1e-6, atol=1e-12)
    assert not any(s.type.startswith('WeightDecay') for s in cfg.param_scheduler)


def test_pretraining_weight_decay_rule(build_model, load_config, optimizer_settings):
    # R-IN224-07
    cfg = load_config(config())
    model = build_model(cfg)
    got = {n: wd for n, (_, wd) in optimizer_settings(model, cfg.optim_wrapper).items()}
    # optim_factory.py get_parameter_groups: no decay where ndim == 1 or the name ends in .bias
    # (no no_weight_decay() list in models/rest_v2.py); every conv/linear weight is decayed,
    # the PA and depth-wise convs included.
    want = {n: 0.0 if p.ndim == 1 or n.endswith('.bias') else 0.05
            for n, p in model.named_parameters()}
    assert got == want
    assert got['backbone.stem.pos.pa_conv.weight'] == 0.05


def test_pretraining_augmentation(load_config, data_root):
    # R-IN224-01 R-IN224-02 R-IN224-12 R-IN224-13 R-IN224-16
    from mmengine.dataset import Compose
    cfg = load_config(config())
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip',
                                          'RandAugment', 'RandomErasing', 'PackInputs']
    init_default_scope('mmpretrain')
    built = Compose(pipeline).transforms
    rrc, flip, ra, erase = built[1], built[2], built[3], built[4]
    # timm RandomResizedCropAndInterpolation defaults: scale (0.08, 1), ratio (3/4, 4/3), bicubic.
    assert rrc.scale == (224, 224) and rrc.crop_ratio_range == (0.08, 1.0)
    assert rrc.aspect_ratio_range == pytest.approx((3 / 4, 4 / 3))
    assert (rrc.interpolation, rrc.backend) == ('bicubic', 'pillow')
    assert flip.prob == 0.5 and flip.direction == 'horizontal'
    # --aa rand-m9-mstd0.5-inc1: 2 ops, magnitude 9 of 10, std 0.5, "increasing" op set; timm
    # fills with IMAGENET_DEFAULT_MEAN x 255 rounded, (124, 116, 104) RGB.
    assert (ra.num_policies, ra.magnitude_level, ra.magnitude_std, ra.total_level) == (2, 9, 0.5, 10)
    assert tuple(pipeline[3].hparams.pad_val) == (104, 116, 124)  # BGR
    assert pipeline[3].hparams.interpolation == 'bicubic' and pipeline[3].policies == 'timm_increasing'
    # timm's create_transform drops ColorJitter (--color_jitter 0.4) when an AA policy is set.
    assert not any('Color' in t.type for t in pipeline)
    # --reprob 0.25 --remode pixel --recount 1: per-pixel normal noise, i.e. N(0, 1) after
    # normalisation = N(mean, std) before; area 0.02..1/3, aspect 0.3..1/0.3.
    assert erase.erase_prob == 0.25 and erase.mode == 'rand'
    assert (erase.min_area_ratio, erase.max_area_ratio) == (0.02, pytest.approx(1 / 3))
    assert erase.aspect_range == pytest.approx((0.3, 1 / 0.3))
    assert np.allclose(erase.fill_color, RGB_MEAN[::-1]) and np.allclose(erase.fill_std, RGB_STD[::-1])
    image = osp.join(data_root, 'imagenet_mini', 'val', 'ILSVRC2012_val_00000001.JPEG')
    out = Compose(pipeline)(dict(img_path=image, gt_label=65))
    assert tuple(out['inputs'].shape) == (3, 224, 224)


def test_mixup_with_label_smoothing_matches_timm():
    # R-IN224-14 R-IN224-15
    from mmpretrain.models.losses import LabelSmoothLoss
    torch.manual_seed(0)
    logits, lam = torch.randn(4, 1000), 0.3
    a, b = torch.tensor([1, 5, 7, 999]), torch.tensor([3, 5, 0, 2])
    hot = torch.nn.functional.one_hot
    mixed = lam * hot(a, 1000).float() + (1 - lam) * hot(b, 1000).float()  # our batch augment
    ours = LabelSmoothLoss(label_smooth_val=0.1, mode='original')(logits, mixed)
    # timm Mixup(label_smoothing=0.1): mixes smoothed one-hots (off 0.1/1000, on 0.9 + 0.1/1000),
    # then SoftTargetCrossEntropy.
    off, on = 0.1 / 1000, 1 - 0.1 + 0.1 / 1000
    target = lam * (hot(a, 1000) * (on - off) + off) + (1 - lam) * (hot(b, 1000) * (on - off) + off)
    timm = (-target * logits.log_softmax(-1)).sum(-1).mean()
    assert torch.allclose(ours, timm, atol=1e-5)


def test_batch_augments_switch_evenly(build_model, load_config):
    # R-IN224-15
    model = build_model(load_config(config()))
    aug = model.data_preprocessor.batch_augments
    assert [type(a).__name__ for a in aug.augments] == ['Mixup', 'CutMix']
    assert aug.probs is None  # np.random.choice over the two, uniform: timm switch_prob 0.5
    assert aug.augments[1].correct_lam and aug.augments[1].cutmix_minmax is None


def test_normalisation(load_config):
    # R-IN224-21
    for size in (224, 384):
        pre = load_config(config(size=size)).data_preprocessor
        assert np.allclose(pre.mean, RGB_MEAN) and np.allclose(pre.std, RGB_STD) and pre.to_rgb


def first_images(data_root, n):
    root = osp.join(data_root, 'imagenet_mini')
    names = [line.split()[0] for line in open(osp.join(root, 'val.txt'))][:n]
    return [osp.join(root, 'val', name) for name in names]


def run_test_pipeline(cfg, path):
    from mmengine.dataset import Compose
    init_default_scope('mmpretrain')
    out = Compose(cfg.test_dataloader.dataset.pipeline)(dict(img_path=path, gt_label=0))
    return out['inputs'].numpy()  # (3, H, W) uint8, BGR


def official_eval(path, size):
    """datasets.py build_transform(is_train=False) with --crop_pct 1.0, on the PIL image that
    torchvision's ImageFolder loads."""
    from PIL import Image
    from torchvision import transforms
    img = Image.open(path).convert('RGB')
    if size >= 384:
        img = transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BICUBIC)(img)
    else:
        img = transforms.Resize(int(size / 1.0), interpolation=transforms.InterpolationMode.BICUBIC)(img)
        img = transforms.CenterCrop(size)(img)
    return np.asarray(img).transpose(2, 0, 1)[::-1]  # (3, H, W), BGR like ours


@pytest.mark.parametrize('size', [224, 384])
def test_eval_transform_on_real_images(load_config, data_root, size):
    # R-IN224-22 R-IN224-23 R-IN384-02
    cfg = load_config(config(size=size))
    for path in first_images(data_root, 3):
        got = run_test_pipeline(cfg, path)
        assert got.shape == (3, size, size)
        assert np.array_equal(got, official_eval(path, size)), path


def test_classifier_init_from_scratch(build_model, load_config):
    # R-IN224-25
    model = build_model(load_config(config()))
    model.init_weights()
    w = model.head.fc.weight
    # models/rest_v2.py _init_weights: trunc_normal_(std=.02) on the head, bias 0.
    assert abs(float(w.std()) - 0.02) < 0.002 and float(w.abs().max()) <= 2.0
    assert torch.count_nonzero(model.head.fc.bias) == 0


@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_finetuning_settings(load_config, arch):
    # R-IN384-01 R-IN384-03 R-IN384-04 R-IN384-05 R-IN384-06 R-IN384-07 R-IN384-10 R-IN384-11
    # R-IN384-12 R-IN384-13 R-IN384-14 R-IN384-15 R-IN384-16 R-IN384-17 R-IN384-18
    cfg = load_config(config(arch, 384))
    dpr, width = ARCHS[arch]
    assert cfg.model.backbone.drop_path_rate == dpr and cfg.model.head.in_channels == width
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and tuple(opt.betas) == (0.9, 0.999)
    assert opt.lr == pytest.approx(1.5e-5 * 512 / 256) and opt.weight_decay == 1e-8
    assert cfg.optim_wrapper.paramwise_cfg == dict(  # optim_factory.py's rule, as at 224
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0)
    assert cfg.train_dataloader.batch_size * 8 == 512 and cfg.auto_scale_lr.base_batch_size == 512
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.clip_grad.max_norm == 1.0
    assert not cfg.custom_hooks  # no --model_ema
    assert not cfg.model.train_cfg.get('augments')  # --mixup 0 --cutmix 0
    loss = cfg.model.head.loss  # LabelSmoothingCrossEntropy(0.1) when Mixup is off
    assert (loss.type, loss.label_smooth_val) == ('LabelSmoothLoss', 0.1)
    pipeline = cfg.train_dataloader.dataset.pipeline
    rrc = transform(pipeline, 'RandomResizedCrop')
    assert (rrc.scale, rrc.interpolation, rrc.backend) == (384, 'bicubic', 'pillow')
    ra = transform(pipeline, 'RandAugment')
    assert (ra.policies, ra.num_policies, ra.magnitude_level, ra.magnitude_std) == (
        'timm_increasing', 2, 9, 0.5)
    erase = transform(pipeline, 'RandomErasing')
    assert (erase.erase_prob, erase.mode) == (0.25, 'rand')
    # main.py --finetune: the whole 224 model (backbone and same-shape head) from its non-EMA
    # 'model' entry (--model_key model|module); refuse to start without one.
    backbone, head = cfg.model.backbone.init_cfg, cfg.model.head.init_cfg
    assert (backbone.type, backbone.weights, backbone.required) == ('Pretrained', 'model', True)
    assert (head.type, head.prefix, head.weights, head.required) == (
        'PretrainedWeights', 'head.', 'model', True)
    assert backbone.checkpoint is None and head.checkpoint is None and cfg.pretrained is None


def test_finetuning_lr_schedule(load_config, lr_curve):
    # R-IN384-08 R-IN384-09
    cfg = load_config(config(size=384))
    base = 1.5e-5 * 512 / 256
    got = lr_curve(cfg.param_scheduler, base, iters=30 * 5, epoch_length=5)
    want = official_cosine(base, 1e-6, epochs=30, niter=5, warmup_epochs=0)  # --warmup_epochs 0
    assert np.allclose(got, want, rtol=1e-6, atol=1e-12)
