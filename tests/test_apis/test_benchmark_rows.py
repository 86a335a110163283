"""The benchmark's rows (restv2_mm.apis.benchmark): which suites hold which rows, the base of each
group, the official RMT rows only with a checkout, and how a row becomes a model."""
import pytest
import torch
from torch import nn

from restv2_mm.apis import benchmark_rows, build_benchmark_row, memory_columns


def names(rows):
    return [f'{r["group"]}: {r["name"]}' + (' (base)' if r.get('base') else '') for r in rows]


def test_reference_and_style_rows():
    rows = benchmark_rows(['reference', 'styles'])
    assert names(rows) == [
        'reference 224: eager reference (base)', 'reference 224: ours',
        'reference 1333x800: eager reference (base)', 'reference 1333x800: ours',
        'reference 2048x512: eager reference (base)', 'reference 2048x512: ours',
        'styles 1280x800: global (base)', 'styles 1280x800: win', 'styles 1280x800: cwin',
        'styles 1280x800: hwin']
    assert [r['batch'] for r in rows[:2]] == [8, 8]
    assert [r['batch'] for r in benchmark_rows(['reference'], device='cuda')[:2]] == [64, 64]


def test_rmt_rows_are_official_against_ours_only_with_a_checkout():
    ours_only = benchmark_rows(['rmt'])
    assert len(ours_only) == 2 * 3 * 2 and all(r['name'] == 'ours' and r['base'] for r in ours_only)
    paired = benchmark_rows(['rmt'], official_root='/official', only='^RMT-S 512x512')
    assert names(paired) == ['RMT-S 512x512 x1: official (base)', 'RMT-S 512x512 x1: ours',
                             'RMT-S 512x512 x1 train: official (base)', 'RMT-S 512x512 x1 train: ours']
    # RMT-S decomposes the retention in stages 1-3 (classfication_release/RMT.py RMT_S)
    assert paired[0]['chunkwise'] == (True, True, True, False) and paired[2]['train']


def test_bad_selections_are_named():
    with pytest.raises(ValueError, match='matches no row'):
        benchmark_rows(['styles'], only='^RMT')
    with pytest.raises(ValueError, match='suites must be among'):
        benchmark_rows(['speed'])


def test_memory_columns_per_row():
    def measure(row, mode):
        return {'infer': 1., 'train': 2.}[mode]
    reference, train, style = (benchmark_rows([s])[0] for s in ('reference', 'train', 'styles'))
    assert memory_columns(reference, measure) == dict(infer_mb=1., train_mb=2.)
    assert memory_columns(train, measure) == dict(train_mb=2.)
    assert memory_columns(style, measure) == dict(infer_mb=1.)


def test_official_rows_take_their_side_of_the_pair():
    official, ours = nn.Identity(), nn.Identity()
    calls = []

    def pair(arch, chunkwise, root):
        calls.append((arch, chunkwise, root))
        return official, ours

    rows = benchmark_rows(['rmt'], official_root='/official', only='^RMT-T 224 x8: ')
    assert [build_benchmark_row(r, official_pair=pair)[0] for r in rows] == [official, ours]
    assert calls == [('t', (True, True, False, False), '/official')] * 2
    model, fn, x = build_benchmark_row(rows[1], official_pair=pair)
    assert x.shape == (8, 3, 224, 224) and torch.equal(fn(model, x), x)
    with pytest.raises(ValueError, match='official_pair'):
        build_benchmark_row(rows[0])
