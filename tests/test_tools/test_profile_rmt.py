"""tools/analysis_tools/profile_rmt.py's table (restv2_mm.analysis.op_profile): the kinds it sums
over, one profiled step, the medians and shares it prints."""
import pytest
import torch

from restv2_mm.analysis import (
    KINDS,
    compare_by_kind,
    op_kind,
    profile_by_kind,
    render_by_kind,
    render_rotary_timings,
    rmt_backbone,
)


def test_ops_fall_into_their_kinds():
    assert [op_kind(op) for op in ('aten::mm', 'aten::addmm', 'mkldnn::_linear_pointwise')] == \
        ['linear'] * 3
    assert [op_kind(op) for op in ('aten::bmm', 'aten::_softmax', 'aten::_softmax_backward_data',
                                   'aten::_scaled_dot_product_flash_attention_for_cpu',
                                   'aten::_scaled_dot_product_flash_attention_for_cpu_backward')] == \
        ['attention'] * 5
    assert [op_kind(op) for op in ('aten::mkldnn_convolution', 'aten::convolution_backward')] == \
        ['conv'] * 2
    assert [op_kind(op) for op in ('aten::add', 'aten::native_layer_norm', 'aten::copy_')] == \
        ['other'] * 3


def test_a_training_step_of_ours_has_every_kind():
    torch.manual_seed(0)
    model = rmt_backbone('t', (True, True, False, False))
    ms = profile_by_kind(model, torch.randn(1, 3, 64, 64), train=True)
    assert all(ms[k] > 0 for k in KINDS), ms
    assert abs(ms['total'] - sum(ms[k] for k in KINDS)) < 1e-6
    assert all(p.grad is None for p in model.parameters())  # gradients dropped after the step


def test_medians_over_rounds(monkeypatch):
    """The median of each kind over the rounds, after one warm-up per model, models interleaved."""
    import restv2_mm.analysis.op_profile as op_profile
    calls = []

    def fake(model, x, train):
        calls.append(model)
        value = float(len(calls))
        return dict(dict.fromkeys(KINDS, value), total=4 * value)

    monkeypatch.setattr(op_profile, 'profile_by_kind', fake)
    medians = compare_by_kind({'a': 'A', 'b': 'B'}, None, True, rounds=3)
    assert calls == ['A', 'B'] + ['A', 'B'] * 3
    assert medians['a']['linear'] == 5 and medians['b']['total'] == 24  # rounds 3, 5, 7 and 4, 6, 8
    with pytest.raises(ValueError, match='rounds must be >= 1'):
        compare_by_kind({}, None, True, rounds=0)


def test_the_table_gives_ms_and_shares():
    table = render_by_kind({'ours': dict(linear=10., attention=20., conv=30., other=40., total=100.)})
    head, row = table.splitlines()
    assert head.split() == list(KINDS) + ['total']
    assert row.replace('(', ' ').replace(')', ' ').split() == [
        'ours', '10.0', '10%', '20.0', '20%', '30.0', '30%', '40.0', '40%', '100.0']
    rotary = render_rotary_timings([('224', '8x56x56x64', 1.0, 0.5, 3.25, 1.5)]).splitlines()
    assert rotary[1].split() == ['224', '8x56x56x64', '1.00', '0.50', '3.25', '1.50']
