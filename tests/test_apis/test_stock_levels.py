"""The levels a stock framework reads, found by running its backbone (on the meta device where
it can), against what the backbones' papers give: ResNet-50's stage widths and strides (He et
al. 2016, Table 1), a dilated ResNet's output stride 8 (DeepLab), RTMDet-tiny's CSPNeXt P3-P5
(96/192/384 at widen factor 0.375), a ViT's one stride-16 width; and which of our stages
(strides 4, 8, 16, 32) take their place."""
import pytest
import torch

import restv2_mm  # noqa: F401
from restv2_mm.apis import OUR_STRIDES, SwapError, stock_levels
from restv2_mm.apis.stock_levels import match_levels
from restv2_mm.models import RMT, ResTv1, ResTv2, RMTSwin

pytestmark = pytest.mark.mmcv_ops


@pytest.mark.parametrize('backbone,scope,channels,strides', [
    (dict(type='ResNet', depth=50, out_indices=(0, 1, 2, 3)), 'mmdet',
     (256, 512, 1024, 2048), (4, 8, 16, 32)),
    (dict(type='ResNet', depth=50, out_indices=(1, 2, 3)), 'mmdet', (512, 1024, 2048), (8, 16, 32)),
    (dict(type='ResNetV1c', depth=50, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
          strides=(1, 2, 1, 1)), 'mmseg', (256, 512, 1024, 2048), (4, 8, 8, 8)),
    (dict(type='CSPNeXt', arch='P5', expand_ratio=0.5, deepen_factor=0.167, widen_factor=0.375),
     'mmdet', (96, 192, 384), (8, 16, 32)),
    # A small ViT: its drop-path rates need real values, so it is built on the CPU.
    (dict(type='VisionTransformer', img_size=64, embed_dims=64, num_layers=2, num_heads=2,
          out_indices=(0, 1), drop_path_rate=0.1), 'mmseg', (64, 64), (16, 16)),
])
def test_stock_levels(backbone, scope, channels, strides):
    assert stock_levels(backbone, scope) == (channels, strides)


def test_a_backbone_that_cannot_run_is_named():
    with pytest.raises(SwapError, match="'ResNet' cannot be built") as info:
        stock_levels(dict(type='ResNet', depth=51), 'mmdet')
    assert info.value.field == 'model.backbone'


@pytest.mark.parametrize('strides,ours,by_depth', [
    ((4, 8, 16, 32), (0, 1, 2, 3), False),
    ((8, 16, 32), (1, 2, 3), False),
    ((16, ), (2, ), False),
    ((32, ), (3, ), False),
    ((8, 32), (1, 3), False),
    ((4, 8, 8, 8), (0, 1, 2, 3), True),      # dilated ResNet
    ((16, 16, 16, 16), (0, 1, 2, 3), True),  # ViT
    ((8, 8, 16), (1, 2, 3), True),           # BiSeNetV1
])
def test_match_levels(strides, ours, by_depth):
    indices, note = match_levels(strides)
    assert indices == ours
    assert (note is not None) == by_depth


@pytest.mark.parametrize('strides', [(8, 16, 32, 64), (16, 8, 4, 2, 1), (2, 4), (4, 4, 8, 16, 32)])
def test_levels_we_do_not_have(strides):
    with pytest.raises(SwapError, match=r'strides \(4, 8, 16, 32\)'):
        match_levels(strides)


def _narrow(cls, arch):
    """``arch`` of ``cls`` at a quarter of the widths (heads divide them) and one block a stage."""
    settings = dict(cls.arch_zoo[arch], embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1])
    settings['num_heads'] = [1, 2, 4, 8]
    return settings


@pytest.mark.parametrize('cls,arch', [(ResTv2, 'tiny'), (ResTv1, 'lite'), (RMT, 'tiny'),
                                      (RMTSwin, 'swin-t')])
def test_our_strides(cls, arch):
    """OUR_STRIDES holds for every backbone of ours (64x64 in: 16, 8, 4, 2 wide out); narrow
    versions of each arch, whose stems and downsampling layers are the arch's."""
    settings = _narrow(cls, arch)
    model = cls(arch=settings).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert tuple(64 // o.shape[-1] for o in outs) == OUR_STRIDES
    assert tuple(o.shape[1] for o in outs) == cls.output_channels(settings) == (16, 32, 64, 128)
