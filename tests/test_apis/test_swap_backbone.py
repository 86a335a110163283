"""restv2_mm.apis.swap_backbone on structurally different stock frameworks: a two-stage detector
with FPN (Cascade Mask R-CNN), DETR-style with a ChannelMapper (DINO), Mask2Former's pixel
decoder, RTMDet's CSP neck, an mmseg decode head with in_index and a low-level branch
(DeepLabV3+), plus YOLOv3's deepest-first neck and SSD's and FastFCN's pass-through levels.

The expected values are typed from the papers, not computed by the code under test: the stock
ResNet-50 levels (He et al. 2016, Table 1: 256/512/1024/2048 channels at strides 4..32), which of
them each framework reads (DINO, RTMDet: strides 8-32; the others all four), and our widths
(ResTv2-T 96/192/384/768, ResTv2 Table 1; RMT-T 64/128/256/512, RMT supplement Table 1). The
model tests then build each swapped model with a narrow backbone and run it at 64x64.
"""
import pytest
import torch
from mmengine.config import Config

import restv2_mm  # noqa: F401
from restv2_mm.apis import (
    SwapError,
    TensorForward,
    backbone_config,
    build_model,
    fixed_input,
    load_config,
    plan_swap,
    swap_backbone,
)

pytestmark = pytest.mark.mmcv_ops

WIDTHS = {'restv2-tiny': (96, 192, 384, 768), 'rmt-tiny': (64, 128, 256, 512)}
IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def _all(w):
    return list(w)


def _last3(w):
    return list(w[1:])


# name -> (stock config, our out_indices, {field: expected value from our widths w}).
FRAMEWORKS = {
    'cascade_mask_rcnn': ('mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py', (0, 1, 2, 3),
                          {'model.neck.in_channels': _all}),
    'dino': ('mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', (1, 2, 3),
             {'model.neck.in_channels': _last3}),
    'mask2former': ('mmdet::mask2former/mask2former_r50_8xb2-lsj-50e_coco-panoptic.py', (0, 1, 2, 3),
                    {'model.panoptic_head.in_channels': _all}),
    # CSPNeXt's out_indices (2, 3, 4) count its stem: strides 8, 16, 32. Its preprocessor is BGR.
    'rtmdet': ('mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', (1, 2, 3),
               {'model.neck.in_channels': _last3,
                **{f'model.data_preprocessor.{k}': (lambda w, v=v: v) for k, v in IMAGENET.items()}}),
    # Dilated ResNet (strides 4, 8, 8, 8): levels by depth. ASPP reads in_index 3, the low-level
    # branch inputs[0], the auxiliary FCN in_index 2; nothing reads level 1.
    'deeplabv3plus': ('mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py',
                      (0, 1, 2, 3),
                      {'model.decode_head.in_channels': lambda w: w[3],
                       'model.decode_head.c1_in_channels': lambda w: w[0],
                       'model.auxiliary_head.in_channels': lambda w: w[2],
                       'model.pretrained': lambda w: None,
                       'find_unused_parameters': lambda w: True}),
    # Darknet-53 levels (3, 4, 5) at strides 8-32; YOLOV3Neck lists them deepest first.
    'yolov3': ('mmdet::yolo/yolov3_d53_8xb8-320-273e_coco.py', (1, 2, 3),
               {'model.neck.in_channels': lambda w: list(w[1:])[::-1],
                'model.data_preprocessor.mean': lambda w: IMAGENET['mean'],
                'model.data_preprocessor.std': lambda w: IMAGENET['std']}),
    # SSD300's VGG levels at strides 8 and 16 pass through its neck into the head, before 4 more;
    # our last stage is built but unread.
    'ssd': ('mmdet::ssd/ssd300_coco.py', (1, 2),
            {'model.neck.in_channels': lambda w: tuple(w[1:3]),
             'model.neck.out_channels': lambda w: tuple(w[1:3]) + (512, 256, 256, 256),
             'model.bbox_head.in_channels': lambda w: tuple(w[1:3]) + (512, 256, 256, 256),
             'model.data_preprocessor.std': lambda w: IMAGENET['std'],
             'find_unused_parameters': lambda w: True}),
    # FastFCN's JPU reads ResNet levels 2-4 and passes levels 2 and 3 on before its fused map
    # (4 dilations x 512, whatever it reads); the auxiliary FCN reads its output 1: level 3.
    'fastfcn': ('mmseg::fastfcn/fastfcn_r50-d32_jpu_aspp_4xb2-80k_cityscapes-512x1024.py', (1, 2, 3),
                {'model.neck.in_channels': lambda w: tuple(w[1:]),
                 'model.auxiliary_head.in_channels': lambda w: w[2],
                 'model.pretrained': lambda w: None}),
}


def _value(cfg, field):
    node = cfg
    for key in field.split('.'):
        node = node[key]
    return node


@pytest.fixture(scope='module')
def stock_configs():
    return {name: load_config(path) for name, (path, _, _) in FRAMEWORKS.items()}


@pytest.mark.parametrize('backbone', sorted(WIDTHS))
@pytest.mark.parametrize('name', sorted(FRAMEWORKS))
def test_swap_rewrites_exactly_the_places_that_hold_the_levels(name, backbone, stock_configs):
    stock = stock_configs[name]
    _, out_indices, expected = FRAMEWORKS[name]
    widths = WIDTHS[backbone]
    plan = plan_swap(stock, backbone_config(backbone))
    assert plan.out_indices == out_indices
    swapped = plan.apply(stock)
    assert swapped.model.backbone.to_dict() == dict(backbone_config(backbone), out_indices=out_indices)
    for field, value in expected.items():
        assert _value(swapped, field) == value(widths), field
    # Nothing else changes (the backbone itself aside), and the stock config is left as it was.
    assert {c.field for c in plan.changes[1:]} == set(expected)
    assert stock.model.backbone.type != swapped.model.backbone.type


def _fewer_boxes(node):
    """At most 20 proposals, queries and boxes (the RoI heads run on every proposal; DINO's
    queries are chosen among the encoder's tokens, of which 64x64 gives 85)."""
    if isinstance(node, dict):
        for key in ('nms_pre', 'max_per_img', 'num_queries'):
            if isinstance(node.get(key), int):
                node[key] = min(node[key], 20)
        for value in node.values():
            _fewer_boxes(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _fewer_boxes(value)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(FRAMEWORKS))
def test_swapped_model_runs_on_the_backbone_outputs(name, stock_configs):
    """The rewritten necks and heads take what our backbone really gives: a narrow ResTv2 (the
    same structure as T at a third of its widths) built into the model, tensor forward at 64x64
    (SSD: 320, its extra levels need it)."""
    narrow = dict(type='ResTv2', arch=dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1],
                                           num_heads=[1, 2, 4, 8], sr_ratios=[8, 4, 2, 1]))
    cfg = swap_backbone(stock_configs[name], narrow)
    _fewer_boxes(cfg.model)
    scope = cfg.default_scope
    torch.manual_seed(0)
    model = build_model(cfg)
    # As a runner does: some parameters are allocated uninitialised until then (DINO's level_embed
    # is torch.Tensor(levels, dims): whatever memory held, NaN at times).
    model.init_weights()
    size = 320 if name == 'ssd' else 64
    inputs, samples = fixed_input(scope, (size, size))
    with torch.no_grad():
        outs = TensorForward(model, scope, samples)(inputs)
    flat = [t for t in torch.utils._pytree.tree_leaves(outs) if isinstance(t, torch.Tensor)]
    assert flat and all(torch.isfinite(t).all() for t in flat if t.is_floating_point())


@pytest.mark.parametrize('config,field', [
    # A ResNet stage run on each RoI, built for 1024 input channels.
    ('mmdet::faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py', 'model.roi_head.shared_head'),
    # RFP runs a second DetectoRS ResNet on its FPN outputs.
    ('mmdet::detectors/cascade-rcnn_r50-rfp_1x_coco.py', 'model.neck.rfp_backbone'),
    # TridentNet's branches live in its backbone.
    ('mmdet::tridentnet/tridentnet_r50-caffe_1x_coco.py', 'model.type'),
    # UNet's heads read its decoder's stride-1 and stride-2 maps.
    ('mmseg::unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py', 'model.backbone.out_indices'),
    # DDRNet returns an extra map in training for its auxiliary head.
    ('mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py', 'model.backbone'),
])
def test_frameworks_that_cannot_take_another_backbone_name_the_field(config, field):
    with pytest.raises(SwapError) as info:
        plan_swap(load_config(config), backbone_config('restv2-tiny'))
    assert info.value.field == field
    assert str(info.value).startswith(f'{field}: ')


def test_bad_backbones_and_out_indices(stock_configs):
    stock = stock_configs['dino']
    with pytest.raises(TypeError, match='one of ours'):
        plan_swap(stock, dict(type='ResNet', depth=50))
    with pytest.raises(SwapError, match='gives 4 levels; the framework reads 3') as info:
        plan_swap(stock, dict(backbone_config('rmt-tiny'), out_indices=(0, 1, 2, 3)))
    assert info.value.field == 'model.backbone.out_indices'
    with pytest.raises(ValueError, match='backbone must be one of'):
        backbone_config('resnet-50')
    # Given out_indices are kept (here stride 16-32 levels' widths for stride 8-32 maps: the
    # user's choice), the widths follow them.
    cfg = swap_backbone(stock, dict(backbone_config('rmt-tiny'), out_indices=(0, 2, 3)))
    assert cfg.model.neck.in_channels == [64, 256, 512]


def test_lr_decay_of_convnext_becomes_ours():
    """ConvNeXt's layer-wise lr decay parses ConvNeXt's parameter names (with ours, every
    backbone parameter would silently get the neck's lr); ours asks the backbone."""
    stock = load_config('mmdet::convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py')
    cfg = swap_backbone(stock, 'restv2-tiny')
    assert cfg.optim_wrapper.constructor == 'ResTv2LearningRateDecayOptimizerConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.to_dict() == dict(decay_rate=0.95, decay_type='layer_wise')


def test_written_config_inherits_the_stock_one_and_builds_the_same(stock_configs, tmp_path):
    stock = stock_configs['deeplabv3plus']
    plan = plan_swap(stock, backbone_config('rmt-tiny', drop_path_rate=0.1))
    path = tmp_path / 'deeplab_rmt.py'
    path.write_text(plan.text(FRAMEWORKS['deeplabv3plus'][0], str(path)))
    text = path.read_text()
    assert f"_base_ = '{FRAMEWORKS['deeplabv3plus'][0]}'" in text
    assert all(len(line) <= 100 for line in text.splitlines() if not line.startswith('#'))
    plan.check_file(str(path), stock)
    assert Config.fromfile(str(path)).model.decode_head.c1_in_channels == 64
    # A file that says otherwise is caught.
    path.write_text(text.replace('c1_in_channels=64', 'c1_in_channels=96'))
    with pytest.raises(RuntimeError, match='model differs'):
        plan.check_file(str(path), stock)


def test_a_stock_file_is_inherited_by_its_relative_path(tmp_path):
    (tmp_path / 'stock').mkdir()
    (tmp_path / 'mine').mkdir()
    stock_path = tmp_path / 'stock' / 'rtmdet.py'
    stock_path.write_text("_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'\n")
    out = tmp_path / 'mine' / 'rtmdet_restv2.py'
    stock = load_config(str(stock_path))
    plan = plan_swap(stock, backbone_config('restv2-tiny'))
    out.write_text(plan.text(str(stock_path), str(out)))
    assert "_base_ = '../stock/rtmdet.py'" in out.read_text()
    plan.check_file(str(out), stock)


def test_a_semi_supervised_wrapper_swaps_its_detector():
    """SoftTeacher holds its Faster R-CNN under model.detector, and the preprocessor that runs
    under model.data_preprocessor.data_preprocessor (caffe-style BGR, std 1)."""
    stock = load_config('mmdet::soft_teacher/soft-teacher_faster-rcnn_r50-caffe_fpn_180k_semi-0.01-coco.py')
    cfg = swap_backbone(stock, 'rmt-tiny')
    assert cfg.model.detector.backbone.type == 'RMT'
    assert cfg.model.detector.neck.in_channels == [64, 128, 256, 512]
    for preprocessor in (cfg.model.detector.data_preprocessor,
                         cfg.model.data_preprocessor.data_preprocessor):
        assert {k: preprocessor[k] for k in IMAGENET} == IMAGENET


def _small_vit_config(neck, outs):
    """An mmseg config of a small ViT (stride 16) under ``neck`` and a UPerHead, as SETR/BEiT-style
    configs are built."""
    head = dict(type='UPerHead', in_channels=[64] * len(outs), in_index=list(range(len(outs))),
                channels=32, num_classes=4)
    return Config(dict(default_scope='mmseg', model=dict(
        type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', **IMAGENET),
        backbone=dict(type='VisionTransformer', img_size=64, embed_dims=64, num_layers=4,
                      num_heads=2, out_indices=outs),
        neck=neck, decode_head=head)))


def test_vit_necks_keep_their_output_strides():
    """MultiLevelNeck resizes a ViT's stride-16 maps by its scales: 16/2 = 8 and 16/0.5 = 32.
    Our levels in their place (by depth: strides 16, 32) need scales 2 and 1 for the same
    output strides. Feature2Pyramid only makes that pyramid, keeping the widths: it goes, and the
    head reads our levels."""
    mln = dict(type='MultiLevelNeck', in_channels=[64, 64], out_channels=64, scales=[2, 0.5])
    plan = plan_swap(_small_vit_config(mln, (1, 3)), backbone_config('rmt-tiny'))
    assert plan.out_indices == (2, 3) and plan.notes  # matched by depth, said in a note
    cfg = plan.apply(_small_vit_config(mln, (1, 3)))
    assert cfg.model.neck.scales == [2, 1] and cfg.model.neck.in_channels == [256, 512]
    assert cfg.model.decode_head.in_channels == [64, 64]  # reads the neck, unchanged
    f2p = dict(type='Feature2Pyramid', embed_dim=64, rescales=[4, 2, 1, 0.5])
    cfg = swap_backbone(_small_vit_config(f2p, (0, 1, 2, 3)), 'rmt-tiny')
    assert cfg.model.neck is None and cfg.model.decode_head.in_channels == [64, 128, 256, 512]
