"""tools/analysis_tools/profile_rmt.py: the kinds its table sums over, and one profiled step."""
import torch

from helpers import load_tool

profile_rmt = load_tool('tools/analysis_tools/profile_rmt.py')


def test_ops_fall_into_their_kinds():
    kind = profile_rmt.kind
    assert [kind(op) for op in ('aten::mm', 'aten::addmm', 'mkldnn::_linear_pointwise')] == \
        ['linear'] * 3
    assert [kind(op) for op in ('aten::bmm', 'aten::_softmax', 'aten::_softmax_backward_data',
                                'aten::_scaled_dot_product_flash_attention_for_cpu',
                                'aten::_scaled_dot_product_flash_attention_for_cpu_backward')] == \
        ['attention'] * 5
    assert [kind(op) for op in ('aten::mkldnn_convolution', 'aten::convolution_backward')] == \
        ['conv'] * 2
    assert [kind(op) for op in ('aten::add', 'aten::native_layer_norm', 'aten::copy_')] == \
        ['other'] * 3


def test_a_training_step_of_ours_has_every_kind():
    torch.manual_seed(0)
    model = profile_rmt.rmt_backbone('t', (True, True, False, False))
    ms = profile_rmt.profile_step(model, torch.randn(1, 3, 64, 64), train=True)
    assert all(ms[k] > 0 for k in profile_rmt.KINDS), ms
    assert abs(ms['total'] - sum(ms[k] for k in profile_rmt.KINDS)) < 1e-6
    assert all(p.grad is None for p in model.parameters())  # gradients dropped after the step
