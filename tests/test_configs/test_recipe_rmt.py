"""The RMT configs against supplement B and the official release at 32ea214
(classfication_release/main.py + run.sh, detect/configs/RMT/{maskrcnn,retinanet,casrcnn}_*.py,
segmentation/configs/RMT/RMT_{Uper,FPN}_*.py and their _base_ files).

Rows R-RMT*-* of docs/rmt.md. Expected values are written here as literals from the supplement and
the official files (and mmcv 1.x / timm behaviour), never read back from our configs; that every
new config builds and trains is test_rmt_frameworks.py's job."""
import inspect
import json
import math
import os.path as osp
import re
import uuid

import numpy as np
import pytest
import torch

ARCHS = {'t': 'tiny', 's': 'small', 'b': 'base', 'l': 'large'}
DIMS = {'t': [64, 128, 256, 512], 's': [64, 128, 256, 512], 'b': [80, 160, 320, 512],
        'l': [112, 224, 448, 640]}
# Supplement B: "0.1/0.15/0.4/0.5 for RMT-T/S/B/L"; the same in every official config.
DROP_PATH = {'t': 0.1, 's': 0.15, 'b': 0.4, 'l': 0.5}
# The official 3x + MS pipeline (maskrcnn_s_3x.py, casrcnn_{s,m}_3x.py): short sides 480..800 by 32.
SHORT_SIDES = [480, 512, 544, 576, 608, 640, 672, 704, 736, 768, 800]


def check_common(cfg, arch, downstream=True):
    assert cfg.custom_imports == dict(imports=['restv2_mm'], allow_failed_imports=False)
    assert 'pretrained' in cfg and cfg.pretrained is None
    backbone = cfg.model.backbone
    assert backbone.type == 'RMT' and backbone.arch == ARCHS[arch]
    assert backbone.drop_path_rate == DROP_PATH[arch]
    assert backbone.conv_norm_cfg == dict(type='SyncBN')  # official: SyncBatchNorm hard-coded
    if downstream:  # R-RMTIN-21: every downstream config takes the raw (non-EMA) weights
        assert backbone.out_indices == (0, 1, 2, 3) and backbone.norm_eval is False
        # Fine-tuning: no ImageNet checkpoint, no training (test_pretrained.py).
        assert backbone.init_cfg == dict(type='Pretrained', checkpoint=None, weights='model',
                                         required=True)
    return backbone


def transform(pipeline, name):
    found = [t for t in pipeline if t.type == name]
    assert len(found) == 1, f'{name} in {[t.type for t in pipeline]}'
    return found[0]


def check_3x_pipeline(pipeline, with_mask):
    """maskrcnn_s_3x.py's AutoAugment: flip, then [480..800] or [400/500/600, crop 384..600,
    480..800 (override)], long side 1333."""
    types = [t.type for t in pipeline]
    assert types.index('RandomFlip') < types.index('RandomChoice')
    assert transform(pipeline, 'RandomFlip').prob == 0.5
    assert transform(pipeline, 'LoadAnnotations').get('with_mask', False) is with_mask
    multi, crop = transform(pipeline, 'RandomChoice').transforms
    assert [tuple(s) for s in multi[0].scales] == [(1333, s) for s in SHORT_SIDES]
    assert [tuple(s) for s in crop[0].scales] == [(1333, 400), (1333, 500), (1333, 600)]
    assert crop[1].crop_type == 'absolute_range' and tuple(crop[1].crop_size) == (384, 600)
    assert crop[1].allow_negative_crop
    assert [tuple(s) for s in crop[2].scales] == [(1333, s) for s in SHORT_SIDES]
    assert multi[0].keep_ratio and crop[0].keep_ratio and crop[2].keep_ratio


def check_step_schedule(cfg, epochs, milestones):
    """mmdet 2.x schedule_1x.py: step, warm-up linear 500 iterations, ratio 0.001."""
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.begin, warmup.end, warmup.by_epoch) == \
        ('LinearLR', 0.001, 0, 500, False)
    assert cfg.train_cfg.max_epochs == epochs
    assert (steps.type, steps.milestones, steps.gamma, steps.by_epoch) == \
        ('MultiStepLR', milestones, 0.1, True)


def mmcv_poly(t, base, max_iters, power, min_lr, warmup=0, ratio=1.0):
    """mmcv 1.x PolyLrUpdaterHook with an optional linear warm-up: the regular lr is the poly
    value at iteration t, the warm-up factor multiplies it."""
    regular = (base - min_lr) * (1 - t / max_iters) ** power + min_lr
    if not warmup:
        return regular
    k = (1 - t / warmup) * (1 - ratio)
    return np.where(t < warmup, regular * (1 - k), regular)


# ----------------------------------------------------------------------------------- ImageNet
@pytest.mark.parametrize('arch', 'tsbl')
def test_imagenet_recipes(load_config, arch):
    # R-RMTIN-01 R-RMTIN-02 R-RMTIN-03 R-RMTIN-04 R-RMTIN-05 R-RMTIN-06 R-RMTIN-09 R-RMTIN-10
    # R-RMTIN-11 R-RMTIN-12 R-RMTIN-13 R-RMTIN-14 R-RMTIN-15 R-RMTIN-16 R-RMTIN-17 R-RMTIN-20
    cfg = load_config(f'mmpretrain/rmt_{arch}_8xb128_in1k.py')
    backbone = check_common(cfg, arch, downstream=False)
    assert backbone.out_indices == (3, ) and backbone.out_norm_cfg is None
    assert cfg.model.neck == dict(type='RMTClsNeck', in_channels=DIMS[arch][3], out_channels=1024,
                                  conv_norm_cfg=dict(type='SyncBN'))
    assert cfg.model.head.in_channels == 1024 and cfg.model.head.num_classes == 1000
    assert cfg.model.head.loss == dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                                       mode='original')
    # --mixup 0.8 --cutmix 1.0 are alphas; --mixup-prob 1.0, --mixup-switch-prob 0.5: one of the
    # two on every batch, evenly (no probs).
    augments = cfg.model.train_cfg.augments
    assert [(a.type, a.alpha) for a in augments] == [('Mixup', 0.8), ('CutMix', 1.0)]
    assert cfg.model.train_cfg.get('probs') is None
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.eps, tuple(opt.betas)) == \
        ('AdamW', 5e-4 * 1024 / 512, 0.05, 1e-8, (0.9, 0.999))
    paramwise = cfg.optim_wrapper.paramwise_cfg  # timm: no decay on biases and 1-D parameters
    assert paramwise.bias_decay_mult == paramwise.norm_decay_mult == paramwise.flat_decay_mult == 0
    # torch.cuda.amp.autocast() + NativeScaler (a dynamic GradScaler); --clip-grad None.
    wrapper = cfg.optim_wrapper
    assert (wrapper.type, wrapper.dtype, wrapper.loss_scale) == \
        ('AmpOptimWrapper', 'float16', 'dynamic')
    assert wrapper.get('clip_grad') is None
    assert cfg.train_dataloader.batch_size == 128 and cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    from mmpretrain.datasets import RepeatAugSampler
    default_repeats = inspect.signature(RepeatAugSampler).parameters['num_repeats'].default
    assert cfg.train_dataloader.sampler.get('num_repeats', default_repeats) == 3  # RASampler
    # Stepped once per epoch, as main.py steps timm's scheduler (curve: R-RMTIN-07's test).
    assert all(s.by_epoch and not s.get('convert_to_iter_based') for s in cfg.param_scheduler)
    assert cfg.train_cfg.max_epochs == 300
    ema, = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert ema.momentum == pytest.approx(1 - 0.99996 ** (1024 / 512), rel=1e-3)
    assert ema.update_buffers is True  # timm ModelEma averages the whole state dict
    assert ema.get('interval', 1) == 1 and ema.get('begin_iter', 0) == 0
    pipeline = cfg.train_dataloader.dataset.pipeline
    rand_aug = transform(pipeline, 'RandAugment')
    assert (rand_aug.policies, rand_aug.num_policies, rand_aug.magnitude_level,
            rand_aug.magnitude_std) == ('timm_increasing', 2, 9, 0.5)
    erase = transform(pipeline, 'RandomErasing')
    assert (erase.erase_prob, erase.mode) == (0.25, 'rand')


def test_imagenet_transforms(load_config):
    # R-RMTIN-08 R-RMTIN-18
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import TRANSFORMS
    cfg = load_config('mmpretrain/rmt_t_8xb128_in1k.py')
    init_default_scope('mmpretrain')
    crop = TRANSFORMS.build(transform(cfg.train_dataloader.dataset.pipeline, 'RandomResizedCrop'))
    assert crop.scale == (224, 224) and crop.interpolation == 'bicubic'
    assert tuple(crop.crop_ratio_range) == (0.08, 1.0)
    assert tuple(crop.aspect_ratio_range) == pytest.approx((3 / 4, 4 / 3))
    assert transform(cfg.train_dataloader.dataset.pipeline, 'RandomFlip').prob == 0.5
    # datasets.py at 224: Resize(int(256 / 224 * 224), bicubic) on the short side, CenterCrop 224.
    test = cfg.test_dataloader.dataset.pipeline
    resize = transform(test, 'ResizeEdge')
    assert (resize.scale, resize.edge, resize.interpolation) == (256, 'short', 'bicubic')
    assert transform(test, 'CenterCrop').crop_size == 224


def timm_epoch_lr(epoch, peak=1e-3, warmup_lr=1e-6, min_lr=1e-5, warmup=5, epochs=300):
    """The lr main.py trains epoch ``epoch`` at: timm CosineLRScheduler(t_initial=300,
    warmup_t=5, warmup_prefix=False) set by ``step(epoch - 1)`` after the previous epoch, and the
    scheduler's initial warmup_lr for epoch 0."""
    if epoch == 0:
        return warmup_lr
    t = epoch - 1
    if t < warmup:
        return warmup_lr + t * (peak - warmup_lr) / warmup
    return min_lr + 0.5 * (peak - min_lr) * (1 + math.cos(math.pi * t / epochs))


def test_imagenet_schedule_against_timm_staircase(load_config, lr_curve):
    # R-RMTIN-05 R-RMTIN-06 R-RMTIN-07
    cfg = load_config('mmpretrain/rmt_t_8xb128_in1k.py')
    # Every scheduler steps once per epoch: one lr_curve step is one epoch.
    got = lr_curve(cfg.param_scheduler, 1e-3, iters=300)
    want = np.array([timm_epoch_lr(e) for e in range(300)])
    assert want[0] == want[1] == 1e-6 and want[5] == pytest.approx(0.8e-3, rel=1e-3)
    rel = np.abs(got - want) / want
    assert rel[:6].max() < 5e-4  # the warm-up: chained factors, 0.04 % at most
    assert rel[6:].max() < 1e-5  # the cosine: the same values
    assert got[-1] == pytest.approx(timm_epoch_lr(299), rel=1e-5)


def test_imagenet_init_as_official(load_config, build_model):
    # R-RMTIN-19
    cfg = load_config('mmpretrain/rmt_t_8xb128_in1k.py')
    model = build_model(cfg)
    model.init_weights()
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear):  # trunc_normal_(std=.02), bias 0
            assert m.bias is None or not m.bias.any(), name
            if m.weight.numel() > 10000:
                assert m.weight.std().item() == pytest.approx(0.02, rel=0.1), name
        elif isinstance(m, torch.nn.LayerNorm):
            assert (m.weight == 1).all() and not m.bias.any(), name
    # Convolutions keep PyTorch's default (kaiming-uniform, a=sqrt(5)): std 1 / sqrt(3 * fan_in),
    # e.g. 0.111 for the 3x3 stem conv on 3 channels, far from 0.02.
    stem = model.backbone.patch_embed.proj[0]
    assert stem.weight.std().item() == pytest.approx(1 / math.sqrt(3 * 27), rel=0.15)


def released_log(root, arch):
    """The epochs of ``RMT_log/rmt_{arch}.txt`` (one JSON record an epoch, main.py's log_stats;
    the files name RMT-B "m")."""
    with open(osp.join(root, 'RMT_log', f'rmt_{arch}.txt')) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_imagenet_lr_is_the_released_logs_lr_per_image(load_config):
    # R-RMTIN-22
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner
    cfg = load_config('mmpretrain/rmt_t_8xb128_in1k.py')
    opt = cfg.optim_wrapper.optimizer  # supplement B: 1e-3 at batch 1024 = main.py's 5e-4 x 1024 / 512
    assert (opt.lr, cfg.auto_scale_lr.base_batch_size) == (1e-3, 1024)
    assert 8 * cfg.train_dataloader.batch_size == 1024
    # The released logs' run: 2048 images a step (main.py: lr = 5e-4 x 2048 / 512 = 2e-3). mmengine's
    # --auto-scale-lr on 16 GPUs of run.sh's 128 gives that lr.
    wrapper = OptimWrapper(torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=opt.lr))
    runner = SimpleNamespace(_train_dataloader=cfg.train_dataloader, world_size=16, param_schedulers=[],
                             logger=MMLogger.get_current_instance())
    Runner.scale_lr(runner, wrapper, dict(cfg.auto_scale_lr, enable=True))
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(5e-4 * 2048 / 512)


@pytest.mark.parametrize('arch', 'tsml')
def test_released_logs_peak_at_2e_3(official_rmt, arch):
    # R-RMTIN-22 R-RMTIN-07
    epochs = released_log(official_rmt, arch)
    # Every logged epoch's train_lr is main.py's staircase with a 2e-3 peak (epoch 6: 1.9986e-3;
    # the logs of B, S and L each lack one early epoch's line).
    for record in epochs:
        assert record['train_lr'] == pytest.approx(timm_epoch_lr(record['epoch'], peak=2e-3), rel=1e-9)
    assert 1.998e-3 < max(r['train_lr'] for r in epochs) < 2e-3


def test_imagenet_validates_raw_and_ema_weights(load_config):
    # R-RMTIN-23
    cfg = load_config('mmpretrain/rmt_t_8xb128_in1k.py')
    ema, = [h for h in cfg.custom_hooks if h.type == 'EMAHook']
    assert ema.evaluate_on_origin is True and ema.get('evaluate_on_ema', True) is True
    checkpoint = cfg.default_hooks.checkpoint  # every epoch's weights kept, no best-of-one-metric
    assert checkpoint.interval == 1 and 'save_best' not in checkpoint and 'max_keep_ckpts' not in checkpoint


def validate_with_ema_hook(hook, work_dir):
    """The val metrics a run logs with ``hook`` (an EMAHook config): a two-class model trained for
    two SGD steps on four images of class 1, so that the raw weights predict class 1 (top-1 100)
    and the EMA, still at the first step's weights (mmengine's average starts as a copy),
    class 0 (top-1 0)."""
    from mmengine.evaluator import BaseMetric
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class ConstantClassifier(BaseModel):
        def __init__(self):
            super().__init__()
            self.logits = torch.nn.Parameter(torch.tensor([3., 0.]))

        def forward(self, inputs, data_samples, mode='tensor'):
            logits = self.logits.expand(len(inputs), 2)
            if mode == 'loss':
                return dict(loss=torch.nn.functional.cross_entropy(logits, torch.tensor(data_samples)))
            return [dict(pred=int(x.argmax()), gt=gt) for x, gt in zip(logits, data_samples)]

    class Top1(BaseMetric):
        default_prefix = 'accuracy'

        def process(self, data_batch, data_samples):
            self.results += [float(s['pred'] == s['gt']) for s in data_samples]

        def compute_metrics(self, results):
            return dict(top1=100 * sum(results) / len(results))

    loader = dict(dataset=[dict(inputs=torch.zeros(1), data_samples=1)] * 4, batch_size=2,
                  sampler=dict(type='DefaultSampler', shuffle=False), collate_fn=dict(type='pseudo_collate'))
    runner = Runner(model=ConstantClassifier(), work_dir=str(work_dir), train_dataloader=loader,
                    val_dataloader=loader, val_evaluator=[Top1()], val_cfg=dict(),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=1.)),
                    train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1), custom_hooks=[hook],
                    default_scope='mmpretrain', default_hooks=dict(checkpoint=None), log_level='WARNING',
                    # Runners named alike share one MessageHub and Visualizer (mmengine keys them by
                    # name, and the Visualizer keeps the first run's folder): one name per run.
                    experiment_name=f'ema_{uuid.uuid4().hex}')
    runner.train()
    return {k[4:]: v.current() for k, v in runner.message_hub.log_scalars.items()
            if k.startswith('val/accuracy')}


@pytest.mark.parametrize('config,options,want', [
    ('mmpretrain/rmt_t_8xb128_in1k.py', {}, {'accuracy/top1': 0., 'accuracy/top1_origin': 100.}),
    ('mmpretrain/restv2_t_8xb256_in1k.py', {}, {'accuracy/top1': 0.}),
    ('mmpretrain/restv2_t_8xb256_in1k.py', {'custom_hooks.0.evaluate_on_origin': True},
     {'accuracy/top1': 0., 'accuracy/top1_origin': 100.})])
def test_ema_hook_logs_the_raw_model_beside_the_ema(load_config, tmp_path, config, options, want):
    # R-RMTIN-23 R-IN224-29
    # Each config's EMAHook as it builds in mmpretrain's scope: accuracy/top1 is the EMA's,
    # accuracy/top1_origin (with evaluate_on_origin) the raw model's, in the same validation.
    hook, = load_config(config, **options).custom_hooks
    assert validate_with_ema_hook(hook, tmp_path) == want


# The release README's results table (README.md:14-21): the paper's ImageNet top-1.
PAPER_TOP1 = {'t': 82.4, 's': 84.1, 'm': 85.0, 'l': 85.5}


@pytest.mark.parametrize('arch', sorted(PAPER_TOP1))
def test_paper_top1_is_the_best_of_raw_and_ema(official_rmt, arch):
    # R-RMTIN-23
    epochs = released_log(official_rmt, arch)
    raw = max(r['test_acc1'] for r in epochs)
    ema = max(r['test_ema_acc1'] for r in epochs)
    # main.py: max_accuracy = max over epochs of max(raw, EMA) top-1.
    assert round(max(raw, ema), 1) == PAPER_TOP1[arch]
    assert (raw > ema) == (arch == 't')  # RMT-T's 82.4 is the raw model (EMA best 82.33)


def test_release_classifier_script_facts(official_rmt, repo_root):
    # R-RMTIN-24 R-RMT384-05
    main = open(osp.join(official_rmt, 'classfication_release', 'main.py')).read()
    builders = set(re.findall(r'^def (RMT_\w+)\(', open(osp.join(official_rmt, 'classfication_release',
                                                                'RMT.py')).read(), flags=re.M))
    imported = re.search(r'^from RMT import (.+)$', main, flags=re.M).group(1)
    imported = set(imported.replace(' ', '').split(','))
    assert builders == {'RMT_T3', 'RMT_S', 'RMT_M2', 'RMT_L6'}
    assert imported == {'RMT_T', 'RMT_S', 'RMT_B', 'RMT_L'} and imported - builders
    # The logs' models are the defined builders: their parameter counts are our classifiers'
    # (the metafile's measured figures).
    import yaml
    with open(osp.join(repo_root, 'configs', 'mmpretrain', 'metafile.yml')) as f:
        params = {m['Name']: m['Metadata']['Parameters'] for m in yaml.safe_load(f)['Models']}
    for arch, name in (('t', 'tiny'), ('s', 'small'), ('m', 'base'), ('l', 'large')):
        assert released_log(official_rmt, arch)[0]['n_parameters'] == params[f'rmt-{name}_8xb128_in1k']
    # --finetune trains with model.train(False): BatchNorm statistics frozen, drop path off.
    assert "set_training_mode=args.finetune==''" in main
    engine = open(osp.join(official_rmt, 'classfication_release', 'engine.py')).read()
    assert 'model.train(set_training_mode)' in engine


def test_release_checkpoint_loader_prefers_state_dict_then_model(official_rmt):
    # R-RMTIN-21
    for task in ('detect', 'segmentation'):
        loader = open(osp.join(official_rmt, task, 'mmcv_custom', 'checkpoint.py')).read()
        order = [loader.index(s) for s in ("if 'state_dict' in checkpoint:", "elif 'model' in checkpoint:")]
        assert order == sorted(order)
    # downtarget.pth, what the train_*.sh scripts pass on, is what main.py --eval reads: 'model'
    # (raw) and 'model_ema' keys, a main.py checkpoint; the loader takes its 'model'.
    main = open(osp.join(official_rmt, 'classfication_release', 'main.py')).read()
    evaluate = main[main.index('downtarget.pth'):main.index('test_stats = evaluate(data_loader_val')]
    assert "checkpoint['model']" in evaluate and "checkpoint['model_ema']" in evaluate
    script = open(osp.join(official_rmt, 'segmentation', 'train_fpn_t_1x.sh')).read()
    assert 'model.pretrained=path/ckpt_RMT_T3_a100_128/downtarget.pth' in script


# ---------------------------------------------------------------------------------- RMT-S 384
@pytest.mark.parametrize('name,exponent', [('rmt_s_8xb64_in1k-384px.py', 1.0),
                                           ('rmt_s_8xb64_in1k-384px-gamma.py', 224 / 384)])
def test_384_fine_tuning(load_config, build_model, name, exponent):
    # R-RMT384-01 R-RMT384-02 R-RMT384-03 R-RMT384-04 R-RMT384-05 R-RMT384-06
    cfg = load_config(f'mmpretrain/{name}')
    check_common(cfg, 's', downstream=False)
    model = build_model(cfg)
    assert model.backbone.decay_exponent == pytest.approx(exponent)  # gamma ** (224 / 384)
    for part, prefix in (('neck', 'neck.'), ('head', 'head.')):
        init = cfg.model[part].init_cfg
        assert (init.type, init.prefix, init.weights, init.required) == \
            ('PretrainedWeights', prefix, 'model', True)
    init = cfg.model.backbone.init_cfg
    assert (init.type, init.weights, init.required) == ('Pretrained', 'model', True)
    with pytest.raises(ValueError, match='pretrained'):
        model.init_weights()  # no checkpoint set: refuses to fine-tune from random weights
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.weight_decay) == (pytest.approx(1.5e-5 * 512 / 256), 1e-8)
    assert cfg.train_dataloader.batch_size * 8 == 512 and cfg.train_cfg.max_epochs == 30
    cosine, = cfg.param_scheduler
    assert (cosine.type, cosine.eta_min, cosine.begin, cosine.end) == \
        ('CosineAnnealingLR', 1e-6, 0, 30)
    assert not cfg.model.train_cfg and cfg.custom_hooks == []  # no Mixup/CutMix, no EMA
    # ResTv2's fine-tune command (TRAINING.md: --clip_grad 1.0), L2 over all gradients.
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0, norm_type=2)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'float16'
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    train = cfg.train_dataloader.dataset.pipeline
    assert transform(train, 'RandomResizedCrop').scale == 384
    assert transform(train, 'RandAugment').magnitude_level == 9
    test = cfg.test_dataloader.dataset.pipeline  # datasets.py: Resize(384), CenterCrop(384)
    resize = transform(test, 'ResizeEdge')
    assert (resize.scale, resize.edge, resize.interpolation) == (384, 'short', 'bicubic')
    assert transform(test, 'CenterCrop').crop_size == 384
    # Trained in training mode: stochastic depth on, BatchNorm statistics updated.
    assert cfg.model.backbone.drop_path_rate == 0.15 and not cfg.model.backbone.get('norm_eval')


# --------------------------------------------------------------------------------- Mask R-CNN
# Official lr per config (maskrcnn_{t,s,m}_1x 4e-4, maskrcnn_l_1x 2e-4, maskrcnn_s_3x 4e-4,
# maskrcnn_{m,l}_3x 2e-4; no T 3x config: the S 3x value); images per GPU 2, L 3x 1.
@pytest.mark.parametrize('arch,schedule,lr,per_gpu', [
    ('t', '1x', 4e-4, 2), ('s', '1x', 4e-4, 2), ('b', '1x', 4e-4, 2), ('l', '1x', 2e-4, 2),
    ('t', '3x', 4e-4, 2), ('s', '3x', 4e-4, 2), ('b', '3x', 2e-4, 2), ('l', '3x', 2e-4, 1)])
def test_mask_rcnn_recipes(load_config, arch, schedule, lr, per_gpu):
    # R-RMTMASK-01 R-RMTMASK-02 R-RMTMASK-03 R-RMTMASK-04 R-RMTMASK-05 R-RMTMASK-06 R-RMTMASK-07
    # R-RMTMASK-08 R-RMTMASK-09
    cfg = load_config(f'mmdet/mask_rcnn_rmt_{arch}_{schedule}.py')
    check_common(cfg, arch)
    assert cfg.model.type == 'MaskRCNN' and cfg.model.roi_head.type == 'StandardRoIHead'
    assert cfg.model.neck.in_channels == DIMS[arch]
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.loss_scale == 'dynamic'  # official fp16
    assert opt.optimizer == dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.05)
    assert opt.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)})
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr.base_batch_size == 8 * per_gpu
    pipeline = cfg.train_dataloader.dataset.pipeline
    if schedule == '1x':
        check_step_schedule(cfg, 12, [8, 11])
        resize = transform(pipeline, 'Resize')
        assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio
    else:
        check_step_schedule(cfg, 36, [27, 33])
        check_3x_pipeline(pipeline, with_mask=True)


DETECTION_FILES = [f'mmdet/{f}_rmt_{a}_{s}.py' for a in 'tsbl' for f, s in (
    ('mask_rcnn', '1x'), ('mask_rcnn', '3x'), ('retinanet', '1x'), ('retinanet', '3x'),
    ('cascade_mask_rcnn', '3x'))]


@pytest.mark.parametrize('name', DETECTION_FILES)
def test_detection_keeps_the_last_checkpoint(load_config, name):
    # R-RMTMASK-10
    # checkpoint_config = dict(max_keep_ckpts=1) over the mmdet 2.x runtime's interval=1.
    hook = load_config(name).default_hooks.checkpoint
    assert (hook.type, hook.interval, hook.max_keep_ckpts) == ('CheckpointHook', 1, 1)
    assert hook.get('by_epoch', True)


def test_release_detection_files_keep_one_checkpoint(official_rmt):
    # R-RMTMASK-10
    import glob
    files = sorted(glob.glob(osp.join(official_rmt, 'detect', 'configs', 'RMT', '*.py')))
    assert len(files) == 13
    for path in files:
        assert 'checkpoint_config = dict(max_keep_ckpts=1)' in open(path).read(), path
    runtime = open(osp.join(official_rmt, 'detect', 'configs', '_base_', 'default_runtime.py')).read()
    assert 'checkpoint_config = dict(interval=1)' in runtime


# ---------------------------------------------------------------------------------- RetinaNet
# retinanet_{t,s,m}_1x.py: lr 4e-4; retinanet_l_1x.py: 2e-4.
RETINA_LR = {'t': 4e-4, 's': 4e-4, 'b': 4e-4, 'l': 2e-4}


@pytest.mark.parametrize('schedule', ['1x', '3x'])
@pytest.mark.parametrize('arch', 'tsbl')
def test_retinanet_recipes(load_config, arch, schedule):
    # R-RMTRET-01 R-RMTRET-02 R-RMTRET-04 R-RMTRET-05 R-RMTRET-06 R-RMTRET-07 R-RMTRET-08
    # R-RMTRET-09
    cfg = load_config(f'mmdet/retinanet_rmt_{arch}_{schedule}.py')
    check_common(cfg, arch)
    model = cfg.model
    assert model.type == 'RetinaNet'
    neck = model.neck  # _base_/models/RMT_retinanet.py + retinanet_*_1x.py
    assert (neck.type, neck.in_channels, neck.out_channels, neck.start_level,
            neck.add_extra_convs, neck.num_outs) == ('FPN', DIMS[arch], 256, 1, 'on_input', 5)
    head = model.bbox_head
    assert (head.type, head.num_classes, head.stacked_convs, head.feat_channels) == \
        ('RetinaHead', 80, 4, 256)
    anchors = head.anchor_generator
    assert (anchors.octave_base_scale, anchors.scales_per_octave, list(anchors.ratios),
            list(anchors.strides)) == (4, 3, [0.5, 1.0, 2.0], [8, 16, 32, 64, 128])
    assert (head.loss_cls.type, head.loss_cls.gamma, head.loss_cls.alpha) == \
        ('FocalLoss', 2.0, 0.25)
    assert head.loss_bbox.type == 'L1Loss'
    assigner = model.train_cfg.assigner
    assert (assigner.pos_iou_thr, assigner.neg_iou_thr, assigner.min_pos_iou) == (0.5, 0.4, 0)
    test = model.test_cfg
    assert (test.nms_pre, test.score_thr, test.nms.iou_threshold, test.max_per_img) == \
        (1000, 0.05, 0.5, 100)
    wrapper = cfg.optim_wrapper  # fp16 = dict(loss_scale=512.0)
    assert (wrapper.type, wrapper.loss_scale) == ('AmpOptimWrapper', 512.)
    assert wrapper.optimizer == dict(type='AdamW', lr=RETINA_LR[arch], betas=(0.9, 0.999),
                                     weight_decay=1e-4)
    assert 'paramwise_cfg' not in wrapper
    assert cfg.find_unused_parameters is True
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    pipeline = cfg.train_dataloader.dataset.pipeline
    if schedule == '1x':
        check_step_schedule(cfg, 12, [8, 11])
        resize = transform(pipeline, 'Resize')
        assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio
    else:
        check_step_schedule(cfg, 36, [27, 33])
        check_3x_pipeline(pipeline, with_mask=False)


def test_retinanet_weight_decay_everywhere(load_config, build_model, optimizer_settings):
    # R-RMTRET-03
    cfg = load_config('mmdet/retinanet_rmt_t_1x.py')
    model = build_model(cfg)
    got = optimizer_settings(model, cfg.optim_wrapper)
    assert {v for v in got.values()} == {(4e-4, 1e-4)}  # no paramwise_cfg: one lr, one decay
    assert 'backbone.norm0.weight' in got and 'backbone.layers.0.blocks.0.pos.conv.weight' in got


# ---------------------------------------------------------------------------------- Cascade
# casrcnn_s_3x.py: 4e-4; casrcnn_m_3x.py: 2e-4; T as S, L as B.
CASCADE_LR = {'t': 4e-4, 's': 4e-4, 'b': 2e-4, 'l': 2e-4}


@pytest.mark.parametrize('arch', 'tsbl')
def test_cascade_recipes(load_config, arch):
    # R-RMTCAS-01 R-RMTCAS-02 R-RMTCAS-04 R-RMTCAS-05 R-RMTCAS-06
    cfg = load_config(f'mmdet/cascade_mask_rcnn_rmt_{arch}_3x.py')
    check_common(cfg, arch)
    model = cfg.model
    assert (model.type, model.roi_head.type, model.roi_head.num_stages) == \
        ('CascadeRCNN', 'CascadeRoIHead', 3)
    assert list(model.roi_head.stage_loss_weights) == [1, 0.5, 0.25]
    assert model.neck.in_channels == DIMS[arch] and model.neck.num_outs == 5
    stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
    for head, std in zip(model.roi_head.bbox_head, stds):
        assert (head.type, head.num_shared_convs, head.num_shared_fcs, head.conv_out_channels,
                head.fc_out_channels) == ('ConvFCBBoxHead', 4, 1, 256, 1024)
        assert list(head.bbox_coder.target_stds) == std
        assert head.reg_class_agnostic is False and head.reg_decoded_bbox is True
        assert head.norm_cfg == dict(type='SyncBN', requires_grad=True)
        assert (head.loss_bbox.type, head.loss_bbox.loss_weight) == ('GIoULoss', 10.0)
        assert head.loss_cls.type == 'CrossEntropyLoss' and not head.loss_cls.use_sigmoid
    assert [s.assigner.pos_iou_thr for s in model.train_cfg.rcnn] == [0.5, 0.6, 0.7]
    assert model.roi_head.mask_head.type == 'FCNMaskHead'
    wrapper = cfg.optim_wrapper  # fp16 = dict() over fp16 = dict(loss_scale='dynamic')
    assert (wrapper.type, wrapper.loss_scale) == ('AmpOptimWrapper', 'dynamic')
    assert wrapper.optimizer == dict(type='AdamW', lr=CASCADE_LR[arch], betas=(0.9, 0.999),
                                     weight_decay=0.05)
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 16
    check_step_schedule(cfg, 36, [27, 33])
    check_3x_pipeline(cfg.train_dataloader.dataset.pipeline, with_mask=True)


def test_cascade_weight_decay(load_config, build_model, optimizer_settings):
    # R-RMTCAS-03
    cfg = load_config('mmdet/cascade_mask_rcnn_rmt_t_3x.py')
    model = build_model(cfg)
    got = optimizer_settings(model, cfg.optim_wrapper)
    norms = {f'{m}.{p}' for m, mod in model.named_modules()
             if isinstance(mod, (torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm,
                                 torch.nn.LayerNorm)) for p in ('weight', 'bias')}
    # mmcv: norm_decay_mult=0 on every norm layer, custom_keys 'norm' on every name with "norm".
    for name, (lr, decay) in got.items():
        assert lr == pytest.approx(4e-4), name
        assert decay == (0. if name in norms or 'norm' in name else 0.05), name
    assert got['roi_head.bbox_head.0.shared_convs.0.bn.weight'][1] == 0.


# ---------------------------------------------------------------------------------- ADE20K
def check_ade_data(cfg):
    """The release's ade20k.py / ade20k_uper.py (mmseg 0.x), batch 2 per GPU."""
    assert tuple(cfg.crop_size) == (512, 512)
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    pre = cfg.model.data_preprocessor
    assert pre.pad_val == 0 and pre.seg_pad_val == 255
    train = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert tuple(train['RandomResize'].scale) == (2048, 512)
    assert tuple(train['RandomResize'].ratio_range) == (0.5, 2.0)
    assert tuple(train['RandomCrop'].crop_size) == (512, 512)
    assert train['RandomCrop'].cat_max_ratio == 0.75
    assert train['RandomFlip'].prob == 0.5 and 'PhotoMetricDistortion' in train
    assert train['LoadAnnotations'].reduce_zero_label
    test = {t.type: t for t in cfg.test_dataloader.dataset.pipeline}
    assert tuple(test['Resize'].scale) == (2048, 512) and test['Resize'].keep_ratio
    assert cfg.train_dataloader.batch_size == 2  # samples_per_gpu=2, 8 GPUs
    assert cfg.model.test_cfg.mode == 'whole'


@pytest.mark.parametrize('arch', 'tsbl')
def test_upernet_recipes(load_config, arch):
    # R-RMTADE-01 R-RMTADE-02 R-RMTADE-04 R-RMTADE-05 R-RMTADE-06 R-RMTADE-07 R-RMTADE-08
    # R-RMTADE-09
    cfg = load_config(f'mmseg/upernet_rmt_{arch}_512x512_160k_ade20k.py')
    check_common(cfg, arch)
    head, aux = cfg.model.decode_head, cfg.model.auxiliary_head  # _base_/models/RMT_upper.py
    assert (head.type, head.channels, tuple(head.pool_scales), head.in_channels) == \
        ('UPerHead', 512, (1, 2, 3, 6), DIMS[arch])
    assert (aux.type, aux.in_index, aux.channels, aux.in_channels) == \
        ('FCNHead', 2, 256, DIMS[arch][2])
    assert aux.loss_decode.loss_weight == 0.4 and head.num_classes == aux.num_classes == 150
    assert head.norm_cfg.type == aux.norm_cfg.type == 'SyncBN'
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.loss_scale == 512.
    assert opt.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    assert opt.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)})
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.begin, warmup.end) == \
        ('LinearLR', 1e-6, 0, 1500)
    assert (poly.type, poly.power, poly.eta_min, poly.begin, poly.end) == \
        ('PolyLR', 1.0, 0.0, 0, 160000)
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_cfg.val_interval == 8000
    assert cfg.default_hooks.checkpoint.interval == 8000
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    check_ade_data(cfg)


def test_upernet_schedule_matches_mmcv_poly_with_warmup(load_config, lr_curve):
    # R-RMTADE-03
    cfg = load_config('mmseg/upernet_rmt_t_512x512_160k_ade20k.py')
    got = lr_curve(cfg.param_scheduler, 6e-5, iters=160000)
    want = mmcv_poly(np.arange(160000), 6e-5, 160000, 1.0, 0.0, warmup=1500, ratio=1e-6)
    # mmengine counts a span of n steps as n - 1: relative differences stay below 1e-3 except in
    # the last iterations.
    assert np.allclose(got[:150000], want[:150000], rtol=1e-3, atol=0)
    assert np.allclose(got, want, rtol=0, atol=1e-3 * 6e-5)


@pytest.mark.parametrize('arch', 'tsbl')
def test_semantic_fpn_recipes(load_config, arch):
    # R-RMTFPN-01 R-RMTFPN-02 R-RMTFPN-04 R-RMTFPN-05 R-RMTFPN-06 R-RMTFPN-07 R-RMTFPN-08
    cfg = load_config(f'mmseg/fpn_rmt_{arch}_512x512_80k_ade20k.py')
    check_common(cfg, arch)
    model = cfg.model  # _base_/models/RMT_fpn.py + RMT_FPN_*_1x.py
    assert (model.neck.type, model.neck.in_channels, model.neck.out_channels,
            model.neck.num_outs) == ('FPN', DIMS[arch], 256, 4)
    head = model.decode_head
    assert (head.type, head.in_channels, head.in_index, head.feature_strides, head.channels,
            head.dropout_ratio, head.num_classes) == \
        ('FPNHead', [256] * 4, [0, 1, 2, 3], [4, 8, 16, 32], 128, 0.1, 150)
    assert head.norm_cfg.type == 'SyncBN' and head.align_corners is False
    assert 'auxiliary_head' not in model or model.auxiliary_head is None
    wrapper = cfg.optim_wrapper  # no fp16 in the files or the runtime
    assert wrapper.type == 'OptimWrapper' and 'paramwise_cfg' not in wrapper
    assert wrapper.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                                     weight_decay=1e-4)
    assert cfg.train_cfg.max_iters == 80000 and cfg.train_cfg.val_interval == 4000
    assert cfg.default_hooks.checkpoint.interval == 4000
    check_ade_data(cfg)


def test_release_launcher_ignores_its_gpu_count(official_rmt):
    # R-RMTFPN-04
    # train_fpn_t_1x.sh passes 8 as dist_train.sh's second argument, which sets GPUS and never
    # uses it: the process count is whatever its TORCHRUN wrapper starts.
    script = open(osp.join(official_rmt, 'segmentation', 'train_fpn_t_1x.sh')).read()
    assert 'tools/dist_train.sh configs/RMT/RMT_FPN_t_1x.py 8 ' in script
    for task in ('segmentation', 'detect'):
        launcher = open(osp.join(official_rmt, task, 'tools', 'dist_train.sh')).read()
        assert 'GPUS=$2' in launcher and launcher.count('GPUS') == 1
        assert '/usr/local/bin/TORCHRUN' in launcher


def test_semantic_fpn_schedule_matches_release(load_config, lr_curve):
    # R-RMTFPN-03
    cfg = load_config('mmseg/fpn_rmt_t_512x512_80k_ade20k.py')
    assert len(cfg.param_scheduler) == 1  # no warm-up
    got = lr_curve(cfg.param_scheduler, 1e-4, iters=80000)
    # The release's schedule_80k.py: poly, power 0.9, min_lr 1e-6.
    want = mmcv_poly(np.arange(80000), 1e-4, 80000, 0.9, 1e-6)
    assert np.allclose(got[:75000], want[:75000], rtol=1e-3, atol=0)
    assert np.allclose(got, want, rtol=0, atol=1e-3 * 1e-4)
