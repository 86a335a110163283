"""What a CUDA run asks of the machine before it starts (restv2_mm/cli/cuda.py): this rank's device,
and whether mmcv has the CUDA kernels its model calls. The device properties and mmcv's build
information are stubbed (no GPU here); the decisions are the real ones."""
import os.path as osp
import types
import warnings

import pytest
from mmengine.config import Config

from gpu_emulation import stub_gpus
from helpers import REPO
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
    return Config.fromfile(osp.join(REPO, path))


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
