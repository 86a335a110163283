"""The compatibility matrix (restv2_mm.cli.compat_*, tools/analysis_tools/compat_matrix.py): the
families it covers, a record written per entry and resumed, the page and the README line
rendered from it, one real entry end to end; and docs/compatibility.json covers every family of
the installed mmdet and mmseg."""
import json
import os
import os.path as osp
import time

import pytest
import torch

from helpers import REPO, load_tool
from restv2_mm.cli import MATRIX_BACKBONES, matrix_entries, matrix_summary, render_matrix, run_matrix
from restv2_mm.cli import compat_matrix as compat
from restv2_mm.cli.compat_families import EXTRA

pytestmark = pytest.mark.mmcv_ops
matrix_tool = load_tool('tools/analysis_tools/compat_matrix.py')
RECORD = osp.join(REPO, 'docs', 'compatibility.json')


def test_every_family_is_an_entry():
    """One entry per config folder of mmdet 3.3 (116) and mmseg 1.2 (54), the issue's frameworks
    among them, skipped ones with a reason."""
    entries = [e for e in matrix_entries() if (e.library, e.family, e.config) not in
               set(EXTRA)]
    assert len({(e.library, e.family) for e in entries}) == len(entries)
    assert sum(e.library == 'mmdet' for e in entries) == 116
    assert sum(e.library == 'mmseg' for e in entries) == 54
    by_family = {(e.library, e.family): e for e in entries}
    for family in ('dino', 'mask2former', 'rtmdet', 'cascade_rcnn', 'htc', 'panoptic_fpn'):
        assert by_family[('mmdet', family)].config, family
    assert by_family[('mmseg', 'segformer')].config and by_family[('mmseg', 'mask2former')].config
    assert all(e.skipped for e in entries if e.config is None)
    assert 'tracking' in by_family[('mmdet', 'bytetrack')].skipped
    assert 'text' in by_family[('mmdet', 'glip')].skipped


def _fake(rows):
    """A stand-in for run_many: the given rows (default works), the calls recorded."""
    calls = []

    def run_many(tasks, jobs, timeout):
        for index, (entry, backbone, size) in enumerate(tasks):
            calls.append((entry.family, backbone, size))
            yield index, dict(rows.get((entry.family, backbone), dict(outcome='works')))
    return run_many, calls


def test_record_is_written_per_entry_and_resumed(tmp_path, monkeypatch):
    entries = matrix_entries(only=['dino', 'bytetrack', 'mmseg/unet'])
    failure = dict(outcome='fails', fault='framework', field='model.backbone.out_indices',
                   reason='model.backbone.out_indices: the framework reads 5 levels')
    run, calls = _fake({('unet', 'rmt-tiny'): failure})
    monkeypatch.setattr(compat, 'run_many', run)
    out = str(tmp_path / 'matrix.json')
    record = run_matrix(entries, out, ['--out', out], log=lambda line: None)
    assert json.load(open(out)) == record
    assert calls == [(f, b, s) for f, s in (('dino', 256), ('unet', 128)) for b in MATRIX_BACKBONES]
    assert [r['outcome'] for r in record['rows'] if r['family'] == 'bytetrack'] == ['skipped'] * 2
    # A second run finds every entry recorded; --redo runs them again.
    calls.clear()
    run_matrix(entries, out, ['--out', out], log=lambda line: None)
    assert calls == []
    run_matrix([e for e in entries if e.family == 'dino'], out, ['--out', out], redo=True,
               log=lambda line: None)
    assert calls == [('dino', b, 256) for b in MATRIX_BACKBONES]
    assert len(json.load(open(out))['rows']) == 6


def test_page_and_summary(tmp_path, monkeypatch, capsys):
    entries = matrix_entries(only=['atss', 'carafe', 'bytetrack', 'mmseg/unet', 'mmseg/fcn'])
    stock = dict(outcome='fails', fault='stock', where='mmcv/ops/carafe.py:142',
                 reason='RuntimeError: carafe_forward_impl: implementation for device cpu not found.')
    run, _ = _fake({('carafe', b): stock for b in MATRIX_BACKBONES} |
                   {('unet', 'restv2-tiny'): dict(outcome='fails', fault='framework',
                                                  field='model.backbone.out_indices', reason='x')})
    monkeypatch.setattr(compat, 'run_many', run)
    out = str(tmp_path / 'matrix.json')
    record = run_matrix(entries, out, ['--out', out], log=lambda line: None)
    assert matrix_summary(record) == (
        'ResTv2-T and RMT-T swapped into stock configs (`tools/misc/swap_backbone.py`) train and '
        'infer in 1 of the 2 mmdet config families and 1 of the 2 mmseg methods that train on '
        'images ([the compatibility matrix](docs/compatibility.md)).\n')
    page = render_matrix(record)
    assert '| atss | `atss_r50_fpn_1x_coco.py` | works | works |' in page
    assert '| carafe | `faster-rcnn_r50_fpn-carafe_1x_coco.py` | **fails** (stock, CUDA-only op) |' in page
    assert '| unet | `unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py` | **fails** (needs ' \
           '`model.backbone.out_indices`) | works |' in page
    assert '| mmdet | bytetrack | tracking' in page
    matrix_tool.main(['--render', out, '--summary'])
    assert capsys.readouterr().out == matrix_summary(record, entries=matrix_entries())
    # An entry not in the record (a run not yet complete) is listed and counted, not dropped.
    more = entries + matrix_entries(only=['mmseg/ann'])
    assert '#### Not run yet\n\n1 of the 6 entries, which `make matrix` runs next: mmseg/ann (`ann_' \
        in render_matrix(record, more)
    assert 'mmseg methods that train on images (1 of the 6 entries not run yet) ([the' in \
        matrix_summary(record, entries=more)
    assert 'Not run yet' not in page and 'not run yet' not in matrix_summary(record, entries=entries)


@pytest.mark.slow
def test_an_entry_end_to_end():
    """RTMDet-tiny with RMT-T at 64x64 in a child process: one training step and one inference;
    UNet beside it is refused with the field. Forked after this process ran torch's thread pool
    (as in a test session): the child must not hang in OpenMP."""
    rtmdet, unet = matrix_entries(only=['rtmdet'])[0], matrix_entries(only=['mmseg/unet'])[0]
    torch.nn.functional.conv2d(torch.randn(4, 32, 64, 64), torch.randn(32, 32, 3, 3))  # threads run
    rows = dict(compat.run_many([(rtmdet, 'rmt-tiny', 64), (unet, 'rmt-tiny', 64)], jobs=2,
                                timeout=600))
    assert rows[0]['outcome'] == 'works', rows[0]
    assert rows[0]['out_indices'] == [1, 2, 3] and 'model.neck.in_channels' in rows[0]['rewritten']
    assert rows[0]['losses']['loss_cls'] > 0
    assert rows[1]['field'] == 'model.backbone.out_indices'  # UNet reads strides 1 and 2


def test_a_child_that_hangs_or_dies_gets_a_row(monkeypatch):
    def run_entry(entry, backbone, size):
        if backbone == 'hang':
            time.sleep(60)
        os._exit(3)
    monkeypatch.setattr(compat, 'run_entry', run_entry)  # the forked children inherit it
    entry = matrix_entries(only=['atss'])[0]
    start = time.time()
    rows = dict(compat.run_many([(entry, 'hang', 64), (entry, 'die', 64)], jobs=2, timeout=2))
    assert time.time() - start < 30
    assert rows == {0: dict(outcome='fails', fault='unknown', reason='no result within 2 s'),
                    1: dict(outcome='fails', fault='unknown', reason='the process died (exit code 3)')}


@pytest.mark.slow
def test_a_stock_op_without_cpu_kernel_is_the_stock_frameworks_fault():
    """CARAFE upsampling (mmcv) has no CPU kernel: ours fails where the stock config fails."""
    entry = matrix_entries(only=['carafe'])[0]
    row = compat.run_entry(entry, 'rmt-tiny', 64)
    assert (row['outcome'], row['fault']) == ('fails', 'stock'), row
    assert row['where'].startswith('mmcv/ops/carafe.py') and row['stock_where'] == row['where']


@pytest.mark.slow
def test_a_level_without_gradient_fails_where_ddp_would():
    """RetinaNet's FPN starts at stride 8: level 0's output norm gets no gradient, which DDP
    refuses unless find_unused_parameters (which the swap sets)."""
    from restv2_mm.apis import load_config, swap_backbone
    from restv2_mm.cli import smoke_step
    narrow = dict(type='ResTv2', arch=dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1],
                                           num_heads=[1, 2, 4, 8], sr_ratios=[8, 4, 2, 1]))
    cfg = swap_backbone(load_config('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'), narrow)
    assert cfg.find_unused_parameters is True
    with pytest.raises(RuntimeError, match=r"2 backbone parameters got no gradient \(\['norm0.bias'"):
        smoke_step(cfg, 64, find_unused=False)


def _recorded():
    with open(RECORD) as f:
        return {(r['library'], r['family'], r['config'], r['backbone']): r for r in json.load(f)['rows']}


def test_the_recorded_outcomes():
    """Every row of docs/compatibility.json is an entry of the installed libraries with an outcome,
    a reason for each failure or skip, and no failure of ours."""
    entries = {(e.library, e.family, e.config) for e in matrix_entries()}
    for key, row in _recorded().items():
        assert key[:3] in entries and key[3] in MATRIX_BACKBONES, key
        assert row['outcome'] in ('works', 'fails', 'skipped'), row
        assert row.get('reason') or row['outcome'] == 'works', row
        assert row['outcome'] != 'fails' or row['fault'] != 'ours', row


def test_the_record_covers_every_family():
    """docs/compatibility.json has an outcome for every entry and backbone (make matrix)."""
    rows = _recorded()
    missing = [f'{e.library}/{e.family} {b}' for e in matrix_entries() for b in MATRIX_BACKBONES
               if (e.library, e.family, e.config, b) not in rows]
    assert not missing, f'no outcome recorded for {len(missing)}: {missing[:5]} ...'


def test_a_failure_is_the_frameworks_where_the_stock_config_fails_alike():
    """Same exception type at the same line, or the same message one line apart in one file
    (QueryInst's mask pasting fails on the x range with one backbone, the y range with another)."""
    def failure(error, where):
        return dict(error=error, where=where)
    arange = 'RuntimeError: upper bound and lower bound inconsistent with step sign'
    head = 'mmdet/models/roi_heads/mask_heads/fcn_mask_head.py'
    assert compat.same_failure(failure(arange, f'{head}:451'), failure(arange, f'{head}:450'))
    assert compat.same_failure(failure('KeyError: a', f'{head}:450'), failure('KeyError: b', f'{head}:450'))
    assert not compat.same_failure(failure(arange, f'{head}:451'), failure('KeyError: b', f'{head}:450'))
    assert not compat.same_failure(failure(arange, 'restv2_mm/models/x.py:3'), failure(arange, f'{head}:450'))
