"""mmseg's Upsample by an integer factor exports size-independently: a file traced at one size
upsamples every other size to twice that size, as PyTorch does (mmseg's own ``int(t * factor)``
bakes the traced size into the graph)."""
import numpy as np
import pytest
import torch
from torch import nn

from restv2_mm.deployment import export_onnx, export_supported
from restv2_mm.deployment.upsample import IntegerUpsample, symbolic_upsampling

pytestmark = pytest.mark.skipif(not export_supported(), reason='needs torch.onnx dynamo export')


class Graph(nn.Module):
    output_names = ('out', )
    limits = {}

    def __init__(self):
        super().__init__()
        from mmseg.models.utils import Upsample
        self.head = nn.Sequential(nn.Conv2d(3, 4, 1), Upsample(scale_factor=2, mode='bilinear',
                                                                align_corners=False))

    def forward(self, x):
        return self.head(x)


def test_an_exported_upsample_follows_the_input_size(tmp_path):
    import onnxruntime as ort
    torch.manual_seed(0)
    graph = symbolic_upsampling(Graph().eval())
    assert isinstance(graph.head[1], IntegerUpsample) and graph.head[1].factor == 2
    export_onnx(graph, str(tmp_path / 'up.onnx'), shape=(40, 56), dynamic=True)
    session = ort.InferenceSession(str(tmp_path / 'up.onnx'), providers=['CPUExecutionProvider'])
    for size in [(40, 56), (21, 33)]:
        x = torch.rand(1, 3, *size) * 255
        with torch.no_grad():
            want = Graph.forward(graph, x)
        got = session.run(None, {'images': x.numpy()})[0]
        assert got.shape == (1, 4, 2 * size[0], 2 * size[1])
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-4)


def test_a_fractional_factor_is_refused_by_name():
    from mmseg.models.utils import Upsample
    with pytest.raises(ValueError, match=r'^1: Upsample by scale_factor=1.5'):
        symbolic_upsampling(nn.Sequential(nn.Identity(), Upsample(scale_factor=1.5)))
