"""COCO Mask R-CNN recipes ("x3" main results, "x1" ablations) against the paper (5.1, appendix
C.2) and the official detectron2 files (Base-RCNN-FPN.yaml, ResTv2/mask_rcnn_restv2_*_FPN_3x.yaml,
train_net.py, restv2/restv2.py) with detectron2's defaults.

Rows R-COCO3X-* and R-COCO1X-* of docs/recipes.md. Expected values are literals from the paper
and the official code, never read back from our configs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import restv2_mm  # noqa: F401

DPR = {'t': 0.1, 's': 0.2, 'b': 0.3}  # appendix C.2 / the official build_restv2_backbone
# mask_rcnn_restv2_tiny_FPN_3x.yaml INPUT.MIN_SIZE_TRAIN (sic: 534, and no 608); MAX_SIZE_TRAIN
# is detectron2's default 1333, MIN_SIZE_TRAIN_SAMPLING its default "choice".
MIN_SIZES = (480, 512, 534, 576, 640, 672, 704, 736, 768, 800)
CONFIGS_3X = [f'mmdet/mask_rcnn_restv2_{a}_3x.py' for a in 'tsb']
CONFIGS_1X = [f'mmdet/mask_rcnn_restv2_t_{s}_1x.py' for s in ('global', 'win', 'cwin', 'hwin')]


def check_shared_recipe(cfg):
    """What the x1 ablations share with the x3 recipe (appendix C.2: only the schedule differs)."""
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay, tuple(opt.betas)) == ('AdamW', 1e-4, 0.05, (0.9, 0.999))
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=0.01, norm_type=2)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'  # SOLVER.AMP.ENABLED: True
    assert cfg.optim_wrapper.dtype == 'bfloat16'  # ours: bf16 where the GPU has it
    assert cfg.train_dataloader.batch_size * 8 == 16  # IMS_PER_BATCH 16 on 8 GPUs
    warm = cfg.param_scheduler[0]  # detectron2 WARMUP_METHOD linear, FACTOR 0.001, ITERS 1000
    assert (warm.type, warm.start_factor, warm.begin, warm.end) == ('LinearLR', 0.001, 0, 1000)
    types = [t.type for t in cfg.train_pipeline]
    assert types == ['LoadImageFromFile', 'LoadAnnotations', 'RandomCrop', 'RandomChoiceResize',
                     'RandomFlip', 'PackDetInputs']
    crop = cfg.train_pipeline[2]
    assert (crop.crop_type, tuple(crop.crop_size)) == ('relative', (0.9, 0.9))
    assert crop.allow_negative_crop and crop.recompute_bbox  # MASK_ON: boxes from cropped masks
    resize = cfg.train_pipeline[3]
    assert [tuple(s) for s in resize.scales] == [(1333, s) for s in MIN_SIZES] and resize.keep_ratio
    flip = cfg.train_pipeline[4]
    assert flip.prob == 0.5 and flip.get('direction', 'horizontal') == 'horizontal'
    test = [t for t in cfg.test_pipeline if t.type == 'Resize'][0]  # MIN/MAX_SIZE_TEST 800/1333
    assert tuple(test.scale) == (1333, 800) and test.keep_ratio
    assert 'tta_model' not in cfg or 'tta_pipeline' not in cfg  # no TEST.AUG in the yaml
    pre = cfg.model.data_preprocessor  # PIXEL_MEAN / PIXEL_STD, FORMAT RGB; size_divisibility 32
    assert pre.mean == [123.675, 116.28, 103.53] and pre.std == [58.395, 57.12, 57.375]
    assert pre.bgr_to_rgb and pre.pad_size_divisor == 32
    init = cfg.model.backbone.init_cfg  # convert_to_d2.py reads ["model"]: the non-EMA weights
    assert (init.type, init.weights) == ('Pretrained', 'model') and init.checkpoint is None


@pytest.mark.parametrize('name', CONFIGS_3X)
def test_x3_recipe(load_config, name):
    # R-COCO3X-02 R-COCO3X-03 R-COCO3X-05 R-COCO3X-06 R-COCO3X-07 R-COCO3X-08 R-COCO3X-09
    # R-COCO3X-10 R-COCO3X-11 R-COCO3X-12 R-COCO3X-13 R-COCO3X-14 R-COCO3X-15 R-COCO3X-17
    cfg = load_config(name)
    check_shared_recipe(cfg)
    assert cfg.model.backbone.drop_path_rate == DPR[name.split('_')[3]]
    assert cfg.train_cfg.max_iters == 270000
    step = cfg.param_scheduler[1]
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [210000, 250000], 0.1)


@pytest.mark.parametrize('name', CONFIGS_1X)
def test_x1_recipe(load_config, name):
    # R-COCO1X-01 R-COCO1X-02 R-COCO1X-03
    cfg = load_config(name)
    check_shared_recipe(cfg)
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.train_cfg.max_iters == 90000
    step = cfg.param_scheduler[1]
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [60000, 80000], 0.1)


def test_model_and_backbone_mode(build_model, load_config):
    # R-COCO3X-01 R-COCO3X-16
    cfg = load_config(CONFIGS_3X[0])
    model = build_model(cfg).train()
    assert type(model).__name__ == 'MaskRCNN' and type(model.neck).__name__ == 'FPN'
    assert model.neck.out_channels == 256 and model.neck.num_outs == 5  # FPN p2..p6
    # The official ResTV2 (detectron2) is built with frozen_stages=-1 and plain nn.BatchNorm2d in
    # the stem: nothing frozen, BN in training mode.
    bn = model.backbone.stem.proj[1]
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.training and bn.weight.requires_grad
    assert all(p.requires_grad for p in model.backbone.parameters())


# The detection rule of docs/configs.md ("ResTv2 beyond the paper") carries this optimizer to
# RetinaNet and Cascade Mask R-CNN with their frameworks' lr and weight decay.
DETECTORS = [(CONFIGS_3X[0], 1e-4, 0.05), ('mmdet/retinanet_restv2_t_1x.py', 1e-4, 1e-4),
             ('mmdet/cascade_mask_rcnn_restv2_t_3x.py', 1e-4, 0.05)]


@pytest.mark.parametrize('name,lr,decay', DETECTORS)
def test_weight_decay_rule(build_model, load_config, optimizer_settings, name, lr, decay):
    # R-COCO3X-04 R-RULE-03 R-RULE-04
    cfg = load_config(name)
    model = build_model(cfg)
    got = optimizer_settings(model, cfg.optim_wrapper)
    # detectron2 get_default_optimizer_params (WEIGHT_DECAY_NORM 0.0, WEIGHT_DECAY_BIAS None =
    # follow WEIGHT_DECAY): 0 for parameters of torch norm modules (a cascade head's SyncBN
    # too), the weight decay for all others, biases included. The official backbone's output
    # norms (norm_1..norm_4) are utils.LayerNorm, a plain nn.Module, so they are decayed; ours
    # are backbone.norm0..norm3. One lr everywhere: no layer-wise decay.
    norm_types = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm,
                  torch.nn.modules.instancenorm._InstanceNorm, torch.nn.LayerNorm,
                  torch.nn.LocalResponseNorm)
    checked = 0
    for mname, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            official_norm = isinstance(module, norm_types) and not mname.startswith('backbone.norm')
            assert got[f'{mname}.{pname}'] == (lr, 0.0 if official_norm else decay), mname
            checked += 1
    assert checked == len(list(model.parameters()))


def test_warmup_matches_detectron2(load_config, lr_curve):
    # R-COCO3X-08
    cfg = load_config(CONFIGS_3X[0])
    got = lr_curve(cfg.param_scheduler, 1e-4, iters=1200)
    # detectron2 WarmupParamScheduler, linear: factor = 0.001 * (1 - t / 1000) + t / 1000.
    t = np.arange(1200)
    want = 1e-4 * np.where(t < 1000, 0.001 * (1 - t / 1000) + t / 1000, 1.0)
    assert np.allclose(got, want, rtol=2e-3, atol=0)


def test_crop_then_resize_on_real_images(load_config, data_root):
    # R-COCO3X-09 R-COCO3X-10
    from mmdet.datasets import CocoDataset
    from mmengine.dataset import Compose
    cfg = load_config(CONFIGS_3X[0])
    init_default_scope('mmdet')
    root = osp.join(data_root, 'coco_mini')
    dataset = CocoDataset(data_root=root, ann_file='annotations/instances_train2017.json',
                          data_prefix=dict(img='train2017/'), pipeline=cfg.train_pipeline[:3],
                          filter_cfg=dict(filter_empty_gt=True))
    resize = Compose([cfg.train_pipeline[3]])
    np.random.seed(0)
    for i in range(4):
        h, w = dataset.get_data_info(i)['height'], dataset.get_data_info(i)['width']
        cropped = dataset[i]
        # detectron2 RandomCrop("relative", (0.9, 0.9)).get_crop_size: (int(h*0.9+0.5), int(w*0.9+0.5))
        ch, cw = int(h * 0.9 + 0.5), int(w * 0.9 + 0.5)
        assert cropped['img'].shape[:2] == (ch, cw)
        boxes = cropped['gt_bboxes'].tensor
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= cw).all() and (boxes[:, 3] <= ch).all()
        # then ResizeShortestEdge(MIN_SIZES, max_size=1333, "choice") on the crop
        out = resize(cropped)['img'].shape[:2]
        allowed = set()
        for s in MIN_SIZES:
            f = min(s / min(ch, cw), 1333 / max(ch, cw))
            allowed.add((int(ch * f + 0.5), int(cw * f + 0.5)))
        assert out in allowed, (out, sorted(allowed))
