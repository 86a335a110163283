"""The self-check: `python -m restv2_mm.cli.collect_env` reports the environment and what this
torch offers, its forward/backward check compares a device against CPU fp32, and ``--gpu-check``
compares training steps, SDPA backends and mmcv's ops against float64 (the CPU path is what runs
here: no GPU; the device properties and mmcv's build are stubbed where a line depends on them)."""
import json

import pytest
import torch

from gpu_emulation import stub_gpus
from helpers import run_tool
from restv2_mm.cli import gpu_check
from restv2_mm.cli.collect_env import collect_env, device_check, main
from restv2_mm.models import RMT, ResTv2, selective_available

NARROW = {'ResTv2': lambda: ResTv2(arch=dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                             num_heads=[1, 2, 4, 8], sr_ratios=[8, 4, 2, 1])),
          'RMT': lambda: RMT(arch=dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1],
                                       num_heads=[2, 2, 4, 8], mlp_ratios=[3] * 4, init_values=[2] * 4,
                                       heads_ranges=[4] * 4, layerscales=[False] * 4,
                                       chunkwise_recurrents=[True, True, False, False]))}


def test_report_names_what_is_available():
    info = collect_env()
    for key in ('PyTorch', 'mmcv', 'mmcv ops', 'mmpretrain', 'restv2_mm', 'checkpoint loading',
                "with_cp='selective'", 'SDPA CPU flash kernel', 'fast paths'):
        assert key in info, key
    assert info['PyTorch'] == torch.__version__
    assert (info["with_cp='selective'"] == 'available') == selective_available()
    assert info["with_cp='selective'"] == 'available' or 'needs torch >= 2.4' in info["with_cp='selective'"]


def test_device_check_against_cpu_fp32():
    rows = {r['dtype']: r for r in device_check('cpu', (torch.float32, torch.bfloat16),
                                                size=(64, 64), batch=1)}
    # the same model and input on the same device in fp32: identical results
    assert rows['float32']['out_max_diff'] == 0 and rows['float32']['grad_max_diff'] == 0
    # bf16 autocast: 8 mantissa bits, differences of the order of 1e-2 relative to the outputs
    bf16 = rows['bfloat16']
    assert 0 < bf16['out_max_diff'] < 0.1 * bf16['out_max_abs'], bf16
    assert 0 < bf16['grad_max_diff'] < 0.1 * bf16['grad_max_abs'], bf16


@pytest.mark.slow
@pytest.mark.compat
def test_command_line():
    out = run_tool(['-m', 'restv2_mm.cli.collect_env'], timeout=300)
    assert 'mmcv ops' in out.stdout and 'forward/backward check' in out.stdout


@pytest.mark.mmcv_ops
@pytest.mark.parametrize('compiled,gpu,expected', [
    ('not available', None, "CPU kernels only (get_compiling_cuda_version() = 'not available')"),
    ('not available', ('Tesla T4', (7, 5)), 'THIS MACHINE HAS A GPU: rebuild mmcv'),
    ('12.8', ('NVIDIA H100 80GB HBM3', (9, 0)), 'compiled with CPU and CUDA kernels (CUDA 12.8)'),
])
def test_mmcv_ops_line_is_truthful(monkeypatch, compiled, gpu, expected):
    """The line follows get_compiling_cuda_version(), not whether mmcv.ops imports (an mmcv built
    without CUDA imports fine and fails on the first CUDA tensor)."""
    import mmcv.ops
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: compiled)
    if gpu:
        stub_gpus(monkeypatch, gpu)
    else:
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    line = collect_env()['mmcv ops']
    assert expected in line
    assert ('CUDA kernels (CUDA' in line) == (compiled != 'not available')


@pytest.mark.parametrize('gpu,expected', [
    (('Tesla T4', (7, 5)), 'emulated on Tesla T4 (sm_75)'),  # is_bf16_supported() says True here
    (('NVIDIA A100-SXM4-80GB', (8, 0)), 'native on NVIDIA A100-SXM4-80GB (sm_80)'),
])
def test_bf16_line_from_this_ranks_capability(monkeypatch, gpu, expected):
    """Rank 1 trains on GPU 1: the line names GPU 1, whatever GPU 0 (mmengine's report lists both)."""
    stub_gpus(monkeypatch, ('NVIDIA H100 80GB HBM3', (9, 0)), gpu)
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert collect_env()['bf16 autocast'].startswith(expected)


@pytest.mark.slow  # float64 training steps
def test_gpu_check_rows_on_cpu():
    """The GPU check's comparisons, run on the CPU: fp32 equals float64 to rounding, bf16 within
    its tolerance, and SDPA's backends the CPU lacks are 'unavailable', not failures."""
    rows = gpu_check.check_training('cpu', ('fp32', 'bf16'), size=(32, 32), batch=1, models=NARROW,
                                    train=False)  # tiny maps: a training BatchNorm magnifies rounding
    assert [(r['name'], r['dtype'], r['status']) for r in rows] == \
        [(m, d, 'pass') for m in NARROW for d in ('fp32', 'bf16')]
    for row in rows:
        assert max(row['outputs'], row['input_grad'], row['weight_grad']) < \
            (1e-5 if row['dtype'] == 'fp32' else 0.1), row  # fp32 vs float64: rounding only
    sdpa = gpu_check.check_sdpa('cpu', ('fp32', 'bf16'), shapes=((1, 2, 576, 8), ))
    status = {(r['name'], r['dtype']): r['status'] for r in sdpa}
    assert status[('MATH L=576', 'bf16')] == status[('MATH L=576', 'fp32')] == 'pass'
    assert status[('CUDNN_ATTENTION L=576', 'fp32')] == 'unavailable'  # a CPU has no cuDNN


def test_gpu_check_fails_a_wrong_result(monkeypatch):
    """A NaN gradient (as cuDNN's masked attention has produced) fails its row: the check can fail."""
    real = torch.nn.functional.scaled_dot_product_attention

    def nan_for_bf16(q, k, v, **kwargs):
        out = real(q, k, v, **kwargs)
        return out * float('nan') if q.dtype == torch.bfloat16 else out
    monkeypatch.setattr(gpu_check.F, 'scaled_dot_product_attention', nan_for_bf16)
    rows = gpu_check.check_sdpa('cpu', ('fp32', 'bf16'), shapes=((1, 2, 49, 8), ), backends=('MATH', ))
    assert [(r['dtype'], r['status'], r['out']) for r in rows] == \
        [('fp32', 'pass', rows[0]['out']), ('bf16', 'FAIL', float('inf'))]


@pytest.mark.slow
@pytest.mark.mmcv_ops
def test_gpu_check_command(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(gpu_check, 'MODELS', NARROW)
    monkeypatch.setattr(gpu_check, 'SDPA_SHAPES', ((1, 2, 49, 8), ))
    monkeypatch.setattr(gpu_check, 'DTYPES', {'fp32': torch.float32})
    out = tmp_path / 'gpu_check.json'
    main(['--gpu-check', '--check-device', 'cpu', '--size', '32', '32', '--out', str(out)])
    record = json.loads(out.read_text())
    assert record['failed'] == 0 and record['device'] == 'cpu'
    assert {(r['check'], r['name']) for r in record['rows'] if r['status'] == 'pass'} >= \
        {('train', 'ResTv2'), ('train', 'RMT'), ('sdpa', 'MATH L=49'), ('mmcv', 'roi_align'),
         ('mmcv', 'nms')}
    assert 'gpu check on cpu' in capsys.readouterr().out
