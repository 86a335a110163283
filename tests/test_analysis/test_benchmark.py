"""The runner and the tables of the measuring tools (restv2_mm.analysis.benchmark,
restv2_mm.analysis.policy_benchmark): what is timed side by side, compared, measured, and how the
ratios are rendered, on tiny modules and known records."""
import json

import pytest
import torch
from torch import nn

from helpers import run_tool
from restv2_mm.analysis import (
    activation_memory,
    render_benchmark,
    render_policies,
    render_restv2_kernel_timings,
    run_benchmark,
    run_policies,
    train_step,
)

OFFSET = 0.25  # what "ours" adds to the reference's output below: the max abs diff to find


def _build(row):
    torch.manual_seed(0)
    model = nn.Conv2d(3, 4, 3)
    if row.get('impl') == 'ours':
        return model, (lambda m, x: (m(x) + OFFSET, m(x).mean((2, 3)))), torch.randn(2, 3, 8, 8)
    return model, (lambda m, x: (m(x), m(x).mean((2, 3)))), torch.randn(2, 3, 8, 8)


def test_groups_are_timed_and_compared_with_their_reference():
    rows = [dict(group='g', name='eager reference', impl='eager', base=True),
            dict(group='g', name='ours', impl='ours'),
            dict(group='h', name='other', impl='ours', base=True)]
    measured = []

    def memory(row):
        measured.append(row['name'])
        return {'infer_mb': 1.0}

    results = run_benchmark(rows, _build, repeat=2, warmup=0, memory=memory)
    assert [(r['group'], r['name'], r['base']) for r in results] == [
        ('g', 'eager reference', True), ('g', 'ours', False), ('h', 'other', True)]
    assert results[1]['max_abs_diff'] == pytest.approx(OFFSET)  # ours against the reference
    assert results[2]['max_abs_diff'] is None  # a group without a reference
    assert all(r['shape'] == '2x3x8x8' and r['repeat'] == 2 and
               0 < r['min_ms'] <= r['median_ms'] <= r['max_ms'] for r in results)
    assert measured == ['eager reference', 'ours', 'other'] and results[0]['infer_mb'] == 1.0
    assert results[0]['row'] is rows[0]
    with pytest.raises(ValueError, match='dtypes'):
        run_benchmark(rows, _build, dtypes=('fp8', ))


def test_a_training_step_leaves_no_gradients_and_memory_modes_are_checked():
    model, fn, x = _build({})
    train_step(model, fn, x)
    assert model.training and all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="'infer' or 'train'"):
        activation_memory(model, fn, x, 'backward')


def _row(group, name, ms, base=False, **extra):
    return dict(group=group, name=name, dtype='fp32', base=base, shape='1x3x8x8', median_ms=ms,
                min_ms=ms - 1, max_ms=ms + 1, **extra)


def test_the_benchmark_page_gives_ratios_against_the_base():
    record = dict(machine='M', torch='T', env={}, argv=['--suites', 'x'], rows=[
        _row('g', 'eager reference', 100., base=True, infer_mb=200., max_abs_diff=1e-5),
        _row('g', 'ours', 50., infer_mb=50., max_abs_diff=1e-5),
        _row('h', 'a', 10., train_mb=None)])
    lines = render_benchmark(record).splitlines()
    assert lines[:3] == ['Machine: M; torch T.',
                         'Command: `python tools/analysis_tools/benchmark.py --suites x`', '']
    assert lines[5] == ('| g | eager reference (base) | fp32 | 1x3x8x8 | 100.0 [99.0, 101.0] | 1.00 | '
                        '1.00 | 200 | 1.00 | - | - | - |')
    assert lines[6] == ('| g | ours | fp32 | 1x3x8x8 | 50.0 [49.0, 51.0] | 0.50 | 2.00 | 50 | 0.25 | - | - '
                        '| 1.0e-05 |')
    assert lines[7].startswith('| h | a (base) |')  # no row marked base: the first is


def test_policy_table_and_its_base():
    with pytest.raises(ValueError, match="include 'none'"):
        run_policies(['rmt-t'], ['full'])
    with pytest.raises(ValueError, match='among'):
        run_policies(['rmt-t'], ['none', 'cheap'])
    record = dict(machine='M', torch='T', argv=[], points=[
        dict(model='m', input='1x3x8x8', policy='none', median_ms=100., min_ms=90., max_ms=110.,
             time_ratio=1., train_mb=200., memory_ratio=1.),
        dict(model='m', input='1x3x8x8', policy='full', median_ms=125.4, min_ms=120., max_ms=130.,
             time_ratio=1.254, train_mb=None, memory_ratio=None)])
    lines = render_policies(record).splitlines()
    assert lines[1] == 'Command: `python tools/analysis_tools/checkpoint_policies.py`'
    assert lines[-2:] == ['| m | 1x3x8x8 | none | 100 [90, 110] | 1.00 | 200 | 1.00 |',
                          '| m | 1x3x8x8 | full | 125 [120, 130] | 1.25 | - | - |']


def test_kernel_timing_table():
    table = render_restv2_kernel_timings(dict(linear=[('fc1 + GELU', 1.24, 0.5)],
                                              up_v=[(96, 8, 2.0, 1.0)])).splitlines()
    assert table[1] == 'fc1 + GELU' + ' ' * 26 + '     1.2' + ' ' * 3 + '     0.5'
    assert table[3] == 'C=  96 r=8' + ' ' * 50 + '    2.0' + ' ' * 3 + '    1.0'


@pytest.mark.slow
def test_the_tools_measure_memory_in_workers(tmp_path):
    """benchmark.py and checkpoint_policies.py run themselves with --worker for each memory figure."""
    out = tmp_path / 'rmt.json'
    run_tool(['tools/analysis_tools/benchmark.py', '--suites', 'rmt', '--only', '^RMT-T 512x512 x1: ',
              '--repeat', '1', '--warmup', '0', '--out', out], RESTV2_OFFICIAL_RMT=None, timeout=600)
    (row, ) = json.loads(out.read_text())['rows']
    assert row['name'] == 'ours' and row['infer_mb'] > 0 and 'train_mb' not in row
    out = tmp_path / 'policies.json'
    proc = run_tool(['tools/analysis_tools/checkpoint_policies.py', '--models', 'rmt-t', '--policies',
                     'none', '--repeat', '1', '--warmup', '0', '--out', out], timeout=600)
    (point, ) = json.loads(out.read_text())['points']
    assert point['train_mb'] > 0 and point['memory_ratio'] == 1.0
    assert proc.stdout.splitlines()[-1].startswith('| rmt-t | 1x3x512x512 | none |')
