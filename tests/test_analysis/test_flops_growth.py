"""GFLOPs against input size (restv2_mm.analysis.flops_growth) and ``tools/analyze_flops.py
--sizes`` (PVTv2 Figure 4)."""
import json

import pytest
import torch.nn.functional as F
from torch import nn

from helpers import REPO, load_tool
from restv2_mm.analysis import check_sizes, flops_by_size, flops_growth_record, render_flops_by_size


class PatchAttention(nn.Module):
    """A 16x16 patch embedding to C channels, then one global attention over the tokens."""

    def __init__(self, c=64):
        super().__init__()
        self.embed = nn.Conv2d(3, c, 16, 16)

    def forward(self, x):
        t = self.embed(x).flatten(2).transpose(1, 2)
        return F.scaled_dot_product_attention(t, t, t)


def test_a_conv_grows_with_the_area():
    conv = nn.Conv2d(3, 16, 3, padding=1)  # 16 * 27 multiply-adds per pixel
    assert flops_by_size(conv, [256, 512]) == [round(16 * 27 * 256 ** 2 / 1e9, 3),
                                               round(16 * 27 * 512 ** 2 / 1e9, 3)]


def test_global_attention_grows_with_the_area_squared():
    sizes = [256, 512, 1024]
    gflops = flops_by_size(PatchAttention(), sizes)
    for s, g in zip(sizes, gflops):  # patch embedding: 3 * 256 per channel and token; QK^T + AV
        tokens = (s // 16) ** 2
        assert g == round((tokens * 64 * 3 * 256 + tokens * tokens * 2 * 64) / 1e9, 3)
    assert gflops[2] / gflops[1] > 8  # beyond the 4x of the area: the quadratic term


def test_record_and_table():
    builds = [('conv', 'a.py', None, lambda: nn.Conv2d(3, 8, 3)),
              ('conv', 'a.py', 'win', lambda: nn.Conv2d(3, 16, 3))]
    record = flops_growth_record(builds, [64, 128], command='x')
    assert [r['label'] for r in record['rows']] == ['conv', 'conv (win)']
    assert record['rows'][1]['params_M'] == round((16 * 27 + 16) / 1e6, 3)
    # 8 * 27 * 62^2 and 8 * 27 * 126^2 multiply-adds (no padding).
    assert render_flops_by_size(record).splitlines()[:3] == [
        '| model | params_M | 64x64 | 128x128 |', '|---|---|---|---|', '| conv | 0.0 | 0.001 | 0.003 |']


@pytest.mark.parametrize('sizes', [[], [224, 224], [320, 224], [16]])
def test_bad_sizes(sizes):
    with pytest.raises(ValueError, match='increasing input sides >= 32'):
        check_sizes(sizes)


@pytest.mark.slow
def test_tool_sizes_json_plot_render(tmp_path, capsys):
    """The tool on the ResTv2-T classifier (in-process): 4.1 GFLOPs at 224 (paper Table 1), a
    by-size record, its picture, and the same table again from the record."""
    out, png = tmp_path / 'sizes.json', tmp_path / 'sizes.png'
    tool = load_tool('tools/analyze_flops.py')
    tool.main([f'{REPO}/configs/mmpretrain/restv2_t_8xb256_in1k.py', '--styles', 'global', 'win',
               '--sizes', '224', '256', '--labels', 'ResTv2-T', '--out', str(out), '--plot', str(png)])
    printed = capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record['sizes'] == [224, 256] and [r['style'] for r in record['rows']] == ['global', 'win']
    global_, win = record['rows']
    assert round(global_['GFLOPs'][0], 1) == 4.1 and global_['params_M'] == win['params_M']
    assert win['GFLOPs'][0] > global_['GFLOPs'][0]  # a 56x56 map padded to one 64x64 window
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    table = render_flops_by_size(record)
    assert table in printed
    tool.main(['--render', str(out), '--plot', str(tmp_path / 'again.png')])
    assert capsys.readouterr().out == table and (tmp_path / 'again.png').exists()


@pytest.mark.parametrize('args,words', [
    (['--sizes', '224', '--latency'], '--sizes counts GFLOPs only'),
    (['--sizes', '224', '--out', 'x.csv'], '--out must end in .json or .md'),
    (['--labels', 'a'], '--labels goes with --sizes'),
    (['--sizes', '224', '--labels', 'a', 'b'], '--labels goes with --sizes, one per CONFIG (1)'),
])
def test_tool_bad_arguments(args, words, capsys):
    tool = load_tool('tools/analyze_flops.py')
    with pytest.raises(SystemExit):
        tool.parse_args(['configs/mmpretrain/restv2_t_8xb256_in1k.py', *args])
    assert words in capsys.readouterr().err
