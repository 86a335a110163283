"""What the exporter refuses, before tracing, with the reason: ResTv1's multi-head interaction
(MHIM), whose InstanceNorm over near-uniform softmax rows onnxruntime's float32 kernels do not
compute closely enough (docs/deployment.md, Limits)."""
import pytest

from restv2_mm.deployment import BackboneGraph, ExportError, export_onnx, export_supported
from restv2_mm.models import ResTv1, ResTv2

NARROW = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])

pytestmark = pytest.mark.skipif(not export_supported(), reason='needs torch.onnx dynamo export')


def test_restv1_is_refused_naming_mhim(tmp_path):
    with pytest.raises(ExportError, match=r'3 attention modules use .*MHIM; first: backbone\.'):
        export_onnx(BackboneGraph(ResTv1(NARROW)), str(tmp_path / 'v1.onnx'), dynamic=True)
    assert not (tmp_path / 'v1.onnx').exists()


def test_one_head_per_stage_has_no_interaction_to_refuse():
    # MHIM mixes heads: with one head a stage it is off, and nothing is refused before the trace.
    from restv2_mm.deployment.export import _refuse_mhim
    _refuse_mhim(BackboneGraph(ResTv1(dict(NARROW, num_heads=[1, 1, 1, 1]))))
    _refuse_mhim(BackboneGraph(ResTv2(NARROW)))
