"""The RMT configs carry the recipes of supplement B and the official configs (values transcribed
here as literals from detect/configs/RMT/maskrcnn_*.py, segmentation/configs/RMT/RMT_Uper_*_2x.py
and classfication_release/main.py + run.sh); building every config is test_configs.py's job."""
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ARCHS = {'t': 'tiny', 's': 'small', 'b': 'base', 'l': 'large'}
DIMS = {'t': [64, 128, 256, 512], 's': [64, 128, 256, 512], 'b': [80, 160, 320, 512],
        'l': [112, 224, 448, 640]}
# Supplement B: "0.1/0.15/0.4/0.5 for RMT-T/S/B/L"; the same in every official config.
DROP_PATH = {'t': 0.1, 's': 0.15, 'b': 0.4, 'l': 0.5}


def load(path):
    return Config.fromfile(osp.join(REPO, path))


def check_common(cfg, arch):
    assert cfg.custom_imports == dict(imports=['restv2_mm'], allow_failed_imports=False)
    assert 'pretrained' in cfg and cfg.pretrained is None
    backbone = cfg.model.backbone
    assert backbone.type == 'RMT' and backbone.arch == ARCHS[arch]
    assert backbone.drop_path_rate == DROP_PATH[arch]
    assert backbone.conv_norm_cfg == dict(type='SyncBN')  # official: SyncBatchNorm hard-coded
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=None)
    return backbone


# Official lr per config (maskrcnn_{t,s,m}_1x 4e-4, maskrcnn_l_1x 2e-4, maskrcnn_s_3x 4e-4,
# maskrcnn_{m,l}_3x 2e-4; no T 3x config: the S 3x value); images per GPU 2, L 3x 1.
@pytest.mark.parametrize('arch,schedule,lr,per_gpu', [
    ('t', '1x', 4e-4, 2), ('s', '1x', 4e-4, 2), ('b', '1x', 4e-4, 2), ('l', '1x', 2e-4, 2),
    ('t', '3x', 4e-4, 2), ('s', '3x', 4e-4, 2), ('b', '3x', 2e-4, 2), ('l', '3x', 2e-4, 1)])
def test_mask_rcnn_recipes(arch, schedule, lr, per_gpu):
    cfg = load(f'configs/mmdet/mask_rcnn_rmt_{arch}_{schedule}.py')
    backbone = check_common(cfg, arch)
    assert backbone.out_indices == (0, 1, 2, 3) and backbone.norm_eval is False
    assert cfg.model.neck.in_channels == DIMS[arch]
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.loss_scale == 'dynamic'  # official fp16
    assert opt.optimizer == dict(type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.05)
    assert opt.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)})
    assert cfg.train_dataloader.batch_size == per_gpu
    assert cfg.auto_scale_lr.base_batch_size == 8 * per_gpu
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == \
        ('LinearLR', 0.001, 500, False)
    epochs, milestones = (12, [8, 11]) if schedule == '1x' else (36, [27, 33])
    assert cfg.train_cfg.max_epochs == epochs
    assert steps.type == 'MultiStepLR' and steps.milestones == milestones and steps.gamma == 0.1
    pipeline = cfg.train_dataloader.dataset.pipeline
    if schedule == '1x':
        resize = [t for t in pipeline if t.type == 'Resize'][0]
        assert resize.scale == (1333, 800) and resize.keep_ratio
    else:
        choice = [t for t in pipeline if t.type == 'RandomChoice'][0]
        multi, crop = choice.transforms
        assert sorted(s[1] for s in multi[0].scales) == list(range(480, 801, 32))
        assert sorted(s[1] for s in crop[0].scales) == [400, 500, 600]
        assert crop[1].crop_type == 'absolute_range' and crop[1].crop_size == (384, 600)
        assert sorted(s[1] for s in crop[2].scales) == list(range(480, 801, 32))
        assert [t.type for t in pipeline].index('RandomFlip') < [t.type for t in pipeline].index(
            'RandomChoice')


@pytest.mark.parametrize('arch', 'tsbl')
def test_upernet_recipes(arch):
    """RMT_Uper_{s,m,l}_2x.py (T: the same recipe): AdamW 6e-5, wd 0.01, warm-up 1500 from 1e-6,
    poly power 1 to 0, 160k iterations, 2 images per GPU, fp16 loss scale 512, eval every 8000."""
    cfg = load(f'configs/mmseg/upernet_rmt_{arch}_512x512_160k_ade20k.py')
    backbone = check_common(cfg, arch)
    assert backbone.norm_eval is False
    assert cfg.model.decode_head.in_channels == DIMS[arch]
    assert cfg.model.auxiliary_head.in_channels == DIMS[arch][2]
    assert cfg.model.decode_head.num_classes == cfg.model.auxiliary_head.num_classes == 150
    assert cfg.crop_size == (512, 512) and cfg.model.data_preprocessor.size == (512, 512)
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.loss_scale == 512.
    assert opt.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
    assert opt.paramwise_cfg == dict(custom_keys={'norm': dict(decay_mult=0.)})
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR', 1e-6, 1500)
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 1.0, 0.0, 160000)
    assert cfg.train_cfg.max_iters == 160000 and cfg.train_cfg.val_interval == 8000
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.default_hooks.checkpoint.interval == 8000


@pytest.mark.parametrize('arch', 'tsbl')
def test_imagenet_recipes(arch):
    """Supplement B and classfication_release/main.py defaults with run.sh (8 GPUs x 128)."""
    cfg = load(f'configs/mmpretrain/rmt_{arch}_8xb128_in1k.py')
    backbone = check_common(cfg, arch)
    assert backbone.out_indices == (3, ) and backbone.out_norm_cfg is None
    assert cfg.model.neck == dict(type='RMTClsNeck', in_channels=DIMS[arch][3], out_channels=1024,
                                  conv_norm_cfg=dict(type='SyncBN'))
    assert cfg.model.head.in_channels == 1024 and cfg.model.head.num_classes == 1000
    assert cfg.model.head.loss == dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                                       mode='original')
    assert [a.type for a in cfg.model.train_cfg.augments] == ['Mixup', 'CutMix']
    assert [a.alpha for a in cfg.model.train_cfg.augments] == [0.8, 1.0]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, opt.eps, opt.betas) == \
        ('AdamW', 1e-3, 0.05, 1e-8, (0.9, 0.999))
    paramwise = cfg.optim_wrapper.paramwise_cfg  # timm: no decay on biases and 1-D parameters
    assert paramwise.bias_decay_mult == paramwise.norm_decay_mult == paramwise.flat_decay_mult == 0
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_dataloader.sampler.type == 'RepeatAugSampler'
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end) == ('LinearLR', 1e-3, 5)  # 1e-6 / 1e-3
    assert (cosine.type, cosine.eta_min, cosine.begin, cosine.end) == \
        ('CosineAnnealingLR', 1e-5, 5, 300)
    assert cfg.train_cfg.max_epochs == 300
    ema = cfg.custom_hooks[0]
    assert ema.type == 'EMAHook' and ema.momentum == pytest.approx(1 - 0.99996 ** 2, rel=1e-3)
    pipeline = cfg.train_dataloader.dataset.pipeline
    rand_aug = [t for t in pipeline if t.type == 'RandAugment'][0]
    assert (rand_aug.num_policies, rand_aug.magnitude_level, rand_aug.magnitude_std) == (2, 9, 0.5)
    assert [t for t in pipeline if t.type == 'RandomErasing'][0].erase_prob == 0.25
