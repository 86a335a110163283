"""tools/analyze_flops.py and tools/analysis_tools/benchmark.py take every ablation variant: the
configs of configs/mmpretrain/ablations and their switches through --cfg-options."""
import json
import os.path as osp

import pytest

import restv2_mm.ops as ops
from helpers import REPO, load_tool

DEFAULT_ROW = osp.join(REPO, 'configs/mmpretrain/ablations/restv2_t_100e_in1k.py')


@pytest.mark.parametrize('option,params_m,gflops', [
    ('model.backbone.up_mode=nearest', 30.26, 4.08),  # Table 2b nearest
    ('model.backbone.branches=conv', 26.11, 3.56),  # Table 2c ConvNet
])
def test_analyze_flops_takes_switches_through_cfg_options(option, params_m, gflops):
    rows = load_tool('tools/analyze_flops.py').main([DEFAULT_ROW, '--cfg-options', option])
    (row, ) = rows
    assert row['input'] == '224x224'
    assert abs(row['params_M'] / params_m - 1) < 0.005 and abs(row['GFLOPs'] / gflops - 1) < 0.005


def test_benchmark_times_configs_side_by_side(tmp_path):
    out = tmp_path / 'rows.json'
    configs = ['configs/mmpretrain/ablations/restv2_lite_100e_in1k.py',
               'configs/mmpretrain/ablations/pvt_emsav2_tiny_100e_in1k.py']
    load_tool('tools/analysis_tools/benchmark.py').main(
        ['--configs', *configs, '--cfg-options', 'model.backbone.drop_path_rate=0.2',
         '--no-memory', '--repeat', '1', '--warmup', '0', '--out', str(out)])
    rows = json.loads(out.read_text())['rows']
    assert [(r['group'], r['name'], r['shape']) for r in rows] == [
        ('configs', 'restv2_lite_100e_in1k.py', '8x3x224x224'),
        ('configs', 'pvt_emsav2_tiny_100e_in1k.py', '8x3x224x224')]
    assert rows[0]['base'] and all(r['median_ms'] > 0 for r in rows)
    assert all(r['row']['cfg_options'] == {'model.backbone.drop_path_rate': 0.2} for r in rows)


def test_benchmark_cfg_options_need_configs():
    with pytest.raises(SystemExit):
        load_tool('tools/analysis_tools/benchmark.py').parse_args(['--cfg-options', 'a=1'])


def test_profile_tool_times_each_fast_path_left_out(capsys):
    # A narrow ResTv2 would do, but the tool builds ResTv2-T: 32x32, one round keeps it short.
    load_tool('tools/analysis_tools/profile_restv2.py').main(
        ['--ablate', '--shape', '32', '32', '--batch', '2', '--repeat', '1'])
    out = capsys.readouterr().out
    lines = out[out.index('variant'):].splitlines()  # after the log's lines
    names = [line.rsplit(maxsplit=4)[0] for line in lines[1:]]
    assert names == (['all on'] + [f'without {ops.fast_path_name(p)}' for p in ops.FAST_PATHS]
                     + ['all off', 'eager reference'])
    ratios = [float(line.split()[-1]) for line in lines[1:]]
    assert ratios[0] == 1.0 and all(r > 0 for r in ratios)
