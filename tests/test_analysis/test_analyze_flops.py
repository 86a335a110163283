"""FLOPs counting (multiply-adds) and tools/analyze_flops.py."""
import csv
import json
import os.path as osp
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import REPO, run_tool
from restv2_mm.analysis import GROUPS, analyze_flops
from restv2_mm.models import ResTv2
from restv2_mm.models.rest import EMSAv2


class SDPA(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_conv_linear_sdpa_by_hand():
    # Conv2d 3->8, 3x3, on 10x12 -> 8x10 outputs, each 3*9 multiply-adds per output channel.
    assert analyze_flops(nn.Conv2d(3, 8, 3), torch.randn(1, 3, 10, 12))['groups']['Conv'] == \
        8 * 10 * 8 * 27
    # Linear 16->5 on 2x7 tokens.
    assert analyze_flops(nn.Linear(16, 5), torch.randn(2, 7, 16))['groups']['Linear'] == 2 * 7 * 16 * 5
    # SDPA: batch 2, 3 heads, 10 queries, 6 keys, dim 4 (QK^T) and value dim 4 (AV).
    q, k, v = torch.randn(2, 3, 10, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4)
    result = analyze_flops(SDPA(), (q, k, v))
    assert result['groups']['Matmul'] == 2 * 3 * 10 * 6 * (4 + 4) == result['total']


def test_one_emsav2_block_by_hand():
    c, heads, r, h, w = 32, 2, 2, 8, 8
    length, lk = h * w, (h // r) * (w // r)
    result = analyze_flops(_Wrap(EMSAv2(c, heads, r).eval(), (h, w)), torch.randn(1, length, c))
    g = result['groups']
    assert g['Linear'] == length * c * c + lk * c * 2 * c + length * c * c      # q, kv, proj
    assert g['Conv'] == lk * c * (r + 1) ** 2 + lk * (r * r * c) * 9             # sr, up (depth-wise)
    assert g['Matmul'] == heads * length * lk * 2 * (c // heads)                  # QK^T + AV


class _Wrap(nn.Module):
    def __init__(self, m, hw):
        super().__init__()
        self.m, self.hw = m, hw

    def forward(self, x):
        return self.m(x, self.hw)


def test_groups_add_up_to_total():
    result = analyze_flops(ResTv2('tiny').eval(), torch.randn(1, 3, 96, 128))
    assert sum(result['groups'].values()) == result['total'] > 0
    assert set(result['groups']) == set(GROUPS)


def test_style_rows_order_as_table_3b():
    """Table 3(b): Matmul Win << HWin << Global; Linear of Win above Global (padding); Conv of CWin
    above Win. A 200x328 input leaves every stage map indivisible by its window."""
    x = torch.randn(1, 3, 200, 328)
    g = {s: analyze_flops(ResTv2('tiny', style=s, window_size=(16, 8, 4, 2)).eval(), x)['groups']
         for s in ('global', 'win', 'cwin', 'hwin')}
    assert g['win']['Matmul'] < g['hwin']['Matmul'] < g['global']['Matmul']
    assert g['win']['Linear'] > g['global']['Linear']
    assert g['cwin']['Conv'] > g['win']['Conv']
    assert g['cwin']['Linear'] == g['win']['Linear'] and g['cwin']['Matmul'] == g['win']['Matmul']


def flops_tool(*args, check=True):
    return run_tool(['tools/analyze_flops.py', *args], check=check, timeout=600)


@pytest.mark.slow
def test_cli_writes_json_csv_md_png(tmp_path):
    cfg = osp.join(REPO, 'configs/mmpretrain/restv2_t_8xb256_in1k.py')
    outs = [tmp_path / f'rows.{ext}' for ext in ('json', 'csv', 'md')]
    for i, out in enumerate(outs):
        extra = ['--plot', tmp_path / 'plot.png', '--latency', '--repeat', '2'] if i == 0 else []
        proc = flops_tool(cfg, '--styles', 'global', 'win', '--shape', 64, 96, '--out', out, *extra)
    rows = json.loads(outs[0].read_text())
    assert [r['style'] for r in rows] == ['global', 'win']
    for r in rows:
        assert abs(sum(r[g] for g in GROUPS) - r['GFLOPs']) < 0.005
        assert r['ms_min'] <= r['ms_median'] <= r['ms_max'] and r['images_per_s'] > 0
    assert len(list(csv.DictReader(outs[1].open()))) == 2
    assert outs[2].read_text().startswith('| config | style |')
    assert (tmp_path / 'plot.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '| restv2_t_8xb256_in1k.py | win |' in proc.stdout


@pytest.mark.slow
def test_config_without_restv2(tmp_path):
    cfg = tmp_path / 'resnet18.py'
    cfg.write_text(textwrap.dedent('''
        _base_ = ['mmpretrain::_base_/models/resnet18.py']
        default_scope = 'mmpretrain'
    '''))
    proc = flops_tool(cfg, '--shape', 64, 64)
    assert '| resnet18.py | - | 11.69 |' in proc.stdout
    proc = flops_tool(cfg, '--styles', 'win', '--shape', 64, 64, check=False)
    assert proc.returncode != 0
    assert "--styles needs a ResTv2 backbone, this config has 'ResNet'" in proc.stderr


@pytest.mark.parametrize('args,words', [
    (['--num-images', 2], 'needs a val_dataloader'),  # B24
    (['--out', 'x.txt'], '--out must end in .json, .csv or .md'),
    (['--shape', 0, 5], '--shape H W must be positive'),
])
@pytest.mark.slow
def test_cli_bad_arguments(tmp_path, args, words):
    cfg = tmp_path / 'model_only.py'
    cfg.write_text("_base_ = ['mmpretrain::_base_/models/resnet18.py']\ndefault_scope = 'mmpretrain'\n")
    proc = flops_tool(cfg, *args, check=False)
    assert proc.returncode != 0 and words in proc.stderr, proc.stderr[-2000:]
