"""The self-check: `python -m restv2_mm.cli.collect_env` reports the environment and what this
torch offers, and its forward/backward check compares a device against CPU fp32 (the CPU path is
what runs here: no GPU)."""

import pytest
import torch

from helpers import run_tool
from restv2_mm.cli.collect_env import collect_env, device_check
from restv2_mm.models.common.recompute import selective_available


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
