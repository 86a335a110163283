"""What a CUDA run asks of the machine before it starts (restv2_mm/cli/cuda.py): this rank's device,
and whether mmcv has the CUDA kernels its model calls. The device properties and mmcv's build
information are stubbed (no GPU here); the decisions are the real ones."""
import os.path as osp
import subprocess
import types
import warnings

import pytest

from gpu_emulation import stub_gpus
from helpers import REPO, load_config
from restv2_mm.cli.config import apply_common_args
from restv2_mm.cli.cuda import (
    MissingCudaOpsError,
    check_cuda_ops,
    local_device_index,
    mmcv_op_users,
    mmcv_ops_status,
)

A100 = ('NVIDIA A100-SXM4-80GB', (8, 0))
MASK_RCNN = 'configs/mmdet/mask_rcnn_restv2_t_3x.py'
RETINANET = 'configs/mmdet/retinanet_restv2_t_1x.py'
UPERNET = 'configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py'
CLASSIFIER = 'configs/mmpretrain/restv2_t_8xb256_in1k.py'


def config(path):
    return load_config(path)


@pytest.mark.parametrize('env,expected', [
    ({}, 0), ({'LOCAL_RANK': '3'}, 3), ({'LOCAL_RANK': '5'}, 1),  # modulo the 4 visible devices
    ({'SLURM_PROCID': '6'}, 2), ({'OMPI_COMM_WORLD_LOCAL_RANK': '1'}, 1),
    ({'LOCAL_RANK': '2', 'SLURM_PROCID': '7'}, 2),  # mmengine's Slurm set-up writes LOCAL_RANK
])
def test_local_device_index(monkeypatch, env, expected):
    stub_gpus(monkeypatch, *[A100] * 4)
    for name in ('LOCAL_RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_LOCAL_RANK'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert local_device_index() == expected


@pytest.mark.mmcv_ops
@pytest.mark.parametrize('path,expected', [
    (MASK_RCNN, {'RoIAlign', 'nms'}), (RETINANET, {'nms'}), (UPERNET, set()), (CLASSIFIER, set()),
])
def test_mmcv_op_users_of_the_configs(path, expected):
    users = mmcv_op_users(config(path).model)
    assert {u.rsplit('(', 1)[1].rstrip(')') for u in users} == expected
    if path == MASK_RCNN:
        assert 'model.roi_head.bbox_roi_extractor.roi_layer (RoIAlign)' in users
        assert 'model.test_cfg.rcnn.nms (nms)' in users


@pytest.mark.mmcv_ops
def test_conv_wrappers_are_no_compiled_ops():
    """mmcv.ops exports pure-PyTorch names too (Conv2d, point_sample): a config using them needs no
    CUDA kernels."""
    model = dict(type='X', conv_cfg=dict(type='Conv2d'), sampler=dict(type='point_sample'),
                 dcn=dict(type='DCNv2'), norm=dict(type='MMSyncBN'))
    assert mmcv_op_users(model) == ['model.dcn (DCNv2)', 'model.norm (MMSyncBN)']


@pytest.mark.mmcv_ops
def test_mmcv_ops_status_says_what_this_build_has():
    import mmcv.ops
    kind, detail = mmcv_ops_status()
    cuda = mmcv.ops.get_compiling_cuda_version()
    assert (kind, detail) == (('cpu', f"get_compiling_cuda_version() = '{cuda}'")
                              if cuda == 'not available' else ('cuda', cuda))


@pytest.mark.mmcv_ops
def test_cuda_run_without_cuda_ops_stops_at_start(monkeypatch, tmp_path):
    """A GPU machine whose mmcv has CPU kernels only: tools/train.py and tools/test.py stop in
    apply_common_args, before the runner is built, naming the entries that need the ops."""
    import mmcv.ops
    stub_gpus(monkeypatch, A100)
    monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: 'not available')
    args = types.SimpleNamespace(config='c.py', work_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(MissingCudaOpsError, match=r"(?s)RoIAlign.*nms.*built without CUDA "
                                                      r"kernels.*tools/misc/setup_env.sh"):
            apply_common_args(config(MASK_RCNN), args)
        check_cuda_ops(config(UPERNET))  # a model that calls none: runs
        check_cuda_ops(config(CLASSIFIER))
        monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: '12.8')
        check_cuda_ops(config(MASK_RCNN))  # mmcv with CUDA kernels
        monkeypatch.setattr(mmcv.ops, 'get_compiling_cuda_version', lambda: 'not available')
        monkeypatch.setattr('torch.cuda.is_available', lambda: False)
        check_cuda_ops(config(MASK_RCNN))  # a CPU run needs the CPU kernels only


# ------------------------------------------------------------- set-up: which mmcv ops to build
def fake_machine(tmp_path, torch_cuda, gpu=True, toolkits=()):
    """A PATH with stub ``nvidia-smi`` (a GPU listed or none) and a python whose torch reports
    ``torch_cuda``; CUDA toolkits ``(folder name, nvcc release)`` under tmp_path/cuda-*."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(parents=True)

    def script(path, text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('#!/bin/sh\n' + text + '\n')
        path.chmod(0o755)
    script(bin_dir / 'nvidia-smi', 'echo "GPU 0: Tesla T4 (UUID: GPU-0)"' if gpu else 'exit 9')
    script(bin_dir / 'python', f'echo "{torch_cuda}"')
    for name, release in toolkits:
        script(tmp_path / name / 'bin' / 'nvcc',
               f'echo "Cuda compilation tools, release {release}, V{release}.1"')
    env = {'PATH': f'{bin_dir}:/usr/bin:/bin', 'RESTV2_CUDA_SEARCH': f'{tmp_path}/cuda-*'}
    return str(bin_dir / 'python'), env


def cuda_plan(python, env):
    return subprocess.run(['bash', osp.join(REPO, 'tools/misc/build_mmcv.sh'), '--cuda-plan', python],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow  # subprocesses (bash, each well under a second)
def test_setup_builds_cuda_ops_where_a_gpu_is(tmp_path):
    python, env = fake_machine(tmp_path, '12.8', toolkits=[('cuda-11.8', '11.8'), ('cuda-12.4', '12.4'),
                                                           ('cuda-12.8', '12.8')])
    plan = cuda_plan(python, env)
    assert (plan.returncode, plan.stdout) == (0, f'cuda {tmp_path}/cuda-12.8\n')  # the same release
    (tmp_path / 'cuda-12.8' / 'bin' / 'nvcc').unlink()
    assert cuda_plan(python, env).stdout == f'cuda {tmp_path}/cuda-12.4\n'  # else the same major
    plan = cuda_plan(python, dict(env, RESTV2_MMCV_OPS='cpu'))
    assert (plan.returncode, plan.stdout) == (0, 'cpu\n')  # opted out


@pytest.mark.slow
def test_setup_stops_without_a_matching_nvcc(tmp_path):
    python, env = fake_machine(tmp_path, '12.8', toolkits=[('cuda-11.8', '11.8')])
    plan = cuda_plan(python, env)
    assert plan.returncode == 2 and plan.stdout == ''
    assert 'no nvcc of CUDA 12.x' in plan.stderr and 'cuda-11.8 (CUDA 11.8)' in plan.stderr
    assert 'cuda-toolkit=12.8' in plan.stderr and 'RESTV2_MMCV_OPS=cpu' in plan.stderr
    python, env = fake_machine(tmp_path / 'cpu_torch', '', toolkits=[('cuda-12.8', '12.8')])
    plan = cuda_plan(python, env)
    assert plan.returncode == 2 and 'CPU-only build' in plan.stderr


@pytest.mark.slow
def test_setup_builds_cpu_ops_without_a_gpu(tmp_path):
    python, env = fake_machine(tmp_path, '12.8', gpu=False, toolkits=[('cuda-12.8', '12.8')])
    assert cuda_plan(python, env).stdout == 'cpu\n'
    plan = cuda_plan(python, dict(env, FORCE_CUDA='1'))  # a container build that sees no GPU
    assert plan.stdout == f'cuda {tmp_path}/cuda-12.8\n'
