"""The per-block analyses of the branches (restv2_mm.analysis.feature_analysis) and
tools/analysis_tools/feature_analysis.py on real images."""
import json
import os.path as osp

import pytest
import torch

from helpers import DATA, REPO, load_tool
from restv2_mm.analysis import analyze_branches, list_images, plot_cka, plot_spectra, render_branches
from restv2_mm.models import ResTv2

TINY = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8], sr_ratios=[8, 4, 2, 1])
PNG = b'\x89PNG\r\n\x1a\n'
TOOL = 'tools/analysis_tools/feature_analysis.py'
IMAGES = osp.join(DATA, 'imagenet_mini')


def tiny():
    torch.manual_seed(0)
    model = ResTv2(TINY).eval()
    model.init_weights()
    return model


def test_batches_add_up_to_the_whole_set():
    model, x = tiny(), torch.randn(4, 3, 64, 64)
    whole = analyze_branches(model, [x])
    split = analyze_branches(model, [x[:1], x[1:3], x[3:]])
    assert whole['image_count'] == split['image_count'] == 4
    assert whole['blocks'] == ['stage1.0', 'stage2.0', 'stage3.0', 'stage4.0']
    assert whole['map_sizes'] == [[16, 16], [8, 8], [4, 4], [2, 2]]
    assert list(whole['cka']) == ['up_attn', 'attn_com', 'up_com']  # the paper's names
    # The float32 forward of one batch of 4 and of batches of 1, 2, 1 round differently (~1e-8
    # in CKA, ~1e-5 in the log amplitude of components 1e-4 of the DC term); the accumulations
    # themselves are exact in float64 (test_cka.py, test_fourier.py).
    for pair, values in whole['cka'].items():
        assert values == pytest.approx(split['cka'][pair], abs=1e-6)
        assert all(0 <= v <= 1 + 1e-9 for v in values)
    for branch in ('attn', 'up', 'com'):
        for a, b in zip(whole['fourier'][branch], split['fourier'][branch]):
            assert a['relative_log_amplitude'] == pytest.approx(b['relative_log_amplitude'], abs=1e-4)
            assert a['relative_log_amplitude'][0] == 0


def test_without_up_the_sum_is_the_attention():
    """Up(V) scaled to ~0 (its LayerNorm's affine): the sum is the attention branch, so
    CKA(attn, com) = 1 and their spectra agree."""
    model = tiny()
    for name, module in model.named_modules():
        if name.endswith('.attn'):
            module.up_norm.weight.data.fill_(1e-7)
            module.up_norm.bias.data.zero_()
    record = analyze_branches(model, [torch.randn(2, 3, 64, 64)])
    assert record['cka']['attn_com'] == pytest.approx([1.] * 4, abs=1e-6)
    for a, c in zip(record['fourier']['attn'], record['fourier']['com']):
        assert a['delta_log_amplitude'] == pytest.approx(c['delta_log_amplitude'], abs=1e-3)


def test_table_and_pictures(tmp_path):
    record = analyze_branches(tiny(), [torch.randn(2, 3, 64, 64)], fourier=True, cka=True)
    table = render_branches(record).splitlines()
    assert table[0] == ('| block | map | dlogamp attn | dlogamp up | dlogamp com | CKA up_attn | '
                        'CKA attn_com | CKA up_com |')
    assert len(table) == 2 + 4 and table[2].startswith('| stage1.0 | 16x16 | ')
    plot_spectra(record, tmp_path / 'f.png')
    plot_cka(record, tmp_path / 'c.png')
    assert (tmp_path / 'f.png').read_bytes()[:8] == (tmp_path / 'c.png').read_bytes()[:8] == PNG
    only_cka = analyze_branches(tiny(), [torch.randn(1, 3, 64, 64)], fourier=False)
    assert 'fourier' not in only_cka and render_branches(only_cka).startswith('| block | map | CKA up_attn |')
    with pytest.raises(ValueError, match='nothing to measure'):
        analyze_branches(tiny(), [], fourier=False, cka=False)
    with pytest.raises(ValueError, match='no images'):
        analyze_branches(tiny(), [])


def test_list_images(tmp_path):
    (tmp_path / 'a').mkdir()
    for name in ('a/2.JPEG', '1.png', 'notes.txt'):
        (tmp_path / name).write_bytes(b'')
    assert [osp.relpath(p, tmp_path) for p in list_images(str(tmp_path))] == ['1.png', 'a/2.JPEG']
    assert len(list_images(str(tmp_path), 1)) == 1
    with pytest.raises(FileNotFoundError, match='no folder'):
        list_images(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='no image files'):
        list_images(str(tmp_path / 'empty'))


@pytest.mark.slow
def test_tool_on_real_images(tmp_path, capsys):
    """Two imagenet_mini images through the ResTv2-Lite classifier's test pipeline (random
    initialisation): the record, both pictures, and --render giving the printed table and the
    pictures again."""
    tool = load_tool(TOOL)
    record = tool.main([f'{REPO}/configs/mmpretrain/restv2_t_8xb256_in1k.py', '--images', IMAGES,
                        '--num-images', '2', '--batch-size', '1', '--out', str(tmp_path), '--name', 'lite',
                        '--cfg-options', 'model.backbone.arch=lite', 'model.head.in_channels=512'])
    printed = capsys.readouterr().out
    assert json.loads((tmp_path / 'lite.json').read_text()) == record
    assert record['image_count'] == 2 and record['family'] == 'ResTv2' and record['checkpoint'] is None
    assert record['map_sizes'][0] == [56, 56] and len(record['blocks']) == 8  # lite: 2 blocks a stage
    for name in ('lite_fourier.png', 'lite_cka.png'):
        assert (tmp_path / name).read_bytes()[:8] == PNG
    again = tmp_path / 'again'
    tool.main(['--render', str(tmp_path / 'lite.json'), '--out', str(again)])  # measures nothing
    table = capsys.readouterr().out.split('pictures:')[0]
    assert table == render_branches(record) and table in printed
    assert sorted(p.name for p in again.iterdir()) == ['lite_cka.png', 'lite_fourier.png']


def test_tool_refuses_restv1(tmp_path):
    with pytest.raises(ValueError, match="ResTv1's EMSA has a single branch"):
        load_tool(TOOL).main([f'{REPO}/configs/mmpretrain/restv1_lite_8xb256_in1k.py', '--images', IMAGES,
                              '--num-images', '1', '--out', str(tmp_path)])
