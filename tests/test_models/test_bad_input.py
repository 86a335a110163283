"""Every bad argument or input of the backbone raises an error that names it."""
import pytest
import torch

from restv2_mm.models import ResTv2


@pytest.mark.parametrize('kwargs,exc,words', [
    (dict(arch='huge'), ValueError, ['arch', "'huge'", 'tiny']),  # B08
    (dict(arch=dict(embed_dims=[64] * 4, depths=[1] * 4, num_heads=[1] * 4)), ValueError,
     ['arch', 'sr_ratios']),  # B09
    (dict(arch=dict(embed_dims=[64] * 3, depths=[1] * 4, num_heads=[1] * 4, sr_ratios=[1] * 4)),
     ValueError, ["arch['embed_dims']", '4 positive ints']),  # B09
    (dict(arch=dict(embed_dims=[64] * 4, depths=[1] * 4, num_heads=[3] * 4, sr_ratios=[1] * 4)),
     ValueError, ['embed_dims', 'num_heads', 'divisible']),  # B10
    (dict(arch=3), TypeError, ['arch', 'int']),
    (dict(out_indices=(4, )), ValueError, ['out_indices', '0..3', '(4,)']),  # B13
    (dict(out_indices=(0, 0)), ValueError, ['out_indices', 'duplicates']),  # B13
    (dict(out_indices=()), TypeError, ['out_indices']),
    (dict(out_indices=(1.0, )), TypeError, ['out_indices']),
    (dict(frozen_stages=5), ValueError, ['frozen_stages', '[-1, 4]', '5']),  # B14
    (dict(frozen_stages=-2), ValueError, ['frozen_stages', '-2']),
    (dict(in_channels=0), ValueError, ['in_channels', '0']),  # B16
    (dict(drop_path_rate=1.5), ValueError, ['drop_path_rate', '1.5']),  # B15
    (dict(norm_cfg=dict(type='SyncBN')), ValueError, ['norm_cfg', 'conv_norm_cfg', 'LayerNorm']),  # B35
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ResTv2(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize('x,exc,words', [
    (torch.randn(3, 32, 32), ValueError, ['4-D', '(3, 32, 32)']),  # B01
    (torch.randn(1, 1, 3, 32, 32), ValueError, ['4-D']),
    (torch.randn(1, 4, 32, 32), ValueError, ['4 channels', 'in_channels=3']),  # B02
    (torch.randint(0, 255, (1, 3, 32, 32), dtype=torch.uint8), TypeError, ['float', 'uint8']),  # B03
    (torch.randn(0, 3, 32, 32), ValueError, ['N, H, W >= 1']),  # B04
    ([[1.0]], TypeError, ['torch.Tensor', 'list']),  # B05
])
def test_bad_inputs(x, exc, words):
    model = ResTv2('tiny', out_indices=(0, )).eval()
    with pytest.raises(exc) as info:
        model(x)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
