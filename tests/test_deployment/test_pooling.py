"""ExactAdaptiveAvgPool2d is torch's adaptive average pooling at every size (its bins: ATen's
start/end index rule), so an exported pyramid pooling is exact at sizes other than the traced one."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from restv2_mm.deployment import ExactAdaptiveAvgPool2d, exact_pooling


@pytest.mark.parametrize('size', [(6, 6), (7, 13), (17, 9), (64, 91), (128, 128)])
@pytest.mark.parametrize('bins', [1, 2, 3, 6])
def test_equals_adaptive_avg_pool2d(size, bins):
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    got = ExactAdaptiveAvgPool2d((bins, bins))(x)
    torch.testing.assert_close(got, F.adaptive_avg_pool2d(x, bins), rtol=0, atol=1e-12)


def test_replaces_only_pooling_larger_than_one():
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Sequential(nn.AdaptiveAvgPool2d(3), nn.Conv2d(3, 3, 1)))
    exact_pooling(model)
    assert type(model[0]) is nn.AdaptiveAvgPool2d
    assert isinstance(model[1][0], ExactAdaptiveAvgPool2d) and model[1][0].output_size == (3, 3)
    with pytest.raises(ValueError, match='adaptive max pooling'):
        exact_pooling(nn.Sequential(nn.AdaptiveMaxPool2d(2)))
