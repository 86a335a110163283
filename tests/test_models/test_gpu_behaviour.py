"""What a GPU would do, checked on the CPU (tests/gpu_emulation.py): the CUDA-autocast emulation
casts as torch's own CUDA autocast kernels do (run on fake CUDA tensors), and no backbone family
makes the host wait for the device in its forward or backward."""
import collections

import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from gpu_emulation import (
    NoSyncGuard,
    SyncError,
    cuda_autocast_lists,
    fake_cuda,
    unclassified_cuda_ops,
)
from restv2_mm import ops
from restv2_mm.models import RMT, STYLES, MultiScaleBackbone, ResTv1, ResTv2, RMTSwin

NARROW = dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])
# Stages 1-2 decomposed (row/column) retention, 3-4 whole-map: both kinds of mask.
RMT_NARROW = dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 8],
                  mlp_ratios=[3] * 4, init_values=[2] * 4, heads_ranges=[4] * 4,
                  chunkwise_recurrents=[True, True, False, False], layerscales=[False] * 4)


def pvt_emsav2():
    pytest.importorskip('mmdet.models', reason="mmdet's models need mmcv's compiled ops")
    from restv2_mm.models import PVTEMSAv2
    return PVTEMSAv2(num_layers=[1, 1, 1, 1])


FAMILIES = {**{f'ResTv2-{s}': lambda s=s: ResTv2(arch=NARROW, style=s) for s in STYLES},
            'ResTv1': lambda: ResTv1(arch=NARROW),
            'PVT-EMSAv2': pvt_emsav2,
            'RMT': lambda: RMT(arch=RMT_NARROW),
            'RMT-Swin': lambda: RMTSwin(arch=RMT_NARROW)}


def ramp_loss(outs):
    return sum((o.float() * torch.linspace(-1, 1, o.numel(), device=o.device).view_as(o)).mean()
               for o in outs)


# ------------------------------------------------------------------------- CUDA autocast emulation
def probes(device):
    """Output dtypes of the ops whose autocast policies differ between CPU and CUDA, and of some
    that agree, after a bf16 conv."""
    x = torch.randn(2, 4, 8, 8, device=device)
    h = F.conv2d(x, torch.randn(4, 4, 3, 3, device=device), padding=1)
    return {
        'conv2d': h, 'layer_norm': F.layer_norm(h, (8, )), 'group_norm': F.group_norm(h, 2),
        'batch_norm': F.batch_norm(h, torch.zeros(4, device=device), torch.ones(4, device=device)),
        'softmax': h.softmax(-1), 'log_softmax': h.log_softmax(-1), 'sum': h.sum(), 'mean': h.mean(),
        'exp': h.exp(), 'pow': h.pow(2), 'rsqrt': h.rsqrt(), 'norm': h.norm(), 'gelu': F.gelu(h),
        'bilinear': F.interpolate(h, scale_factor=2, mode='bilinear'),
        'nearest': F.interpolate(h, scale_factor=2), 'pixel_shuffle': F.pixel_shuffle(h, 2),
        'cat': torch.cat([h, x]), 'add': h + x, 'avg_pool2d': F.avg_pool2d(h, 2),
        'sdpa': F.scaled_dot_product_attention(h, h, h, attn_mask=x),
        'bce_with_logits': F.binary_cross_entropy_with_logits(h, torch.rand_like(x)),
    }


def dtypes(outputs):
    return {name: t.dtype for name, t in outputs.items()}


def test_emulation_casts_as_cuda_autocast():
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cpu = dtypes(probes('cpu'))
    with cuda_autocast_lists(), torch.autocast('cpu', dtype=torch.bfloat16):
        emulated = dtypes(probes('cpu'))
    with fake_cuda(torch.bfloat16):  # torch's own AutocastCUDA kernels, on tensors without data
        cuda = dtypes(probes('cuda'))
    assert emulated == cuda
    assert {k for k in cpu if cpu[k] != cuda[k]} == {
        'layer_norm', 'group_norm', 'softmax', 'log_softmax', 'sum', 'exp', 'pow', 'rsqrt', 'norm',
        'bilinear', 'nearest'}
    with torch.autocast('cpu', dtype=torch.bfloat16):  # restored on exit
        assert dtypes(probes('cpu')) == cpu


def test_emulation_refuses_what_cuda_autocast_refuses():
    p = torch.rand(4)
    with cuda_autocast_lists(), torch.autocast('cpu', dtype=torch.bfloat16):
        with pytest.raises(RuntimeError, match='unsafe to autocast'):
            F.binary_cross_entropy(p, p)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        F.binary_cross_entropy(p, p)  # CPU autocast runs it in fp32


def test_emulation_knows_every_op_cuda_autocast_casts():
    assert unclassified_cuda_ops() == []


class DtypeFlow(TorchDispatchMode):
    """{op: {(input float dtypes, output float dtypes)}} of every aten op below autocast."""

    def __init__(self):
        super().__init__()
        self.seen = collections.defaultdict(set)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))

        def floats(tree):
            return tuple(t.dtype for t in tree_flatten(tree)[0]
                         if isinstance(t, torch.Tensor) and t.is_floating_point())
        self.seen[func.__name__].add((floats((args, kwargs)), floats(out)))
        return out


@pytest.mark.parametrize('family', ['ResTv2-global', 'RMT'])
def test_model_dtype_flow_matches_cuda_autocast(monkeypatch, family):
    """Each aten op of a bf16 forward sees the same dtypes under the emulation on the CPU as under
    torch's CUDA autocast on fake CUDA tensors (the reference paths: the same code on both)."""
    monkeypatch.setattr(MultiScaleBackbone, 'check_input', lambda self, x: None)  # CPU-only values
    model = FAMILIES[family]().eval()
    with ops.fast_path(False), torch.no_grad():
        with cuda_autocast_lists(), torch.autocast('cpu', dtype=torch.bfloat16), DtypeFlow() as emulated:
            model(torch.randn(2, 3, 64, 64))
        with torch.autocast('cpu', dtype=torch.bfloat16), DtypeFlow() as cpu:
            model(torch.randn(2, 3, 64, 64))
        with fake_cuda(torch.bfloat16):
            on_cuda = model.to('cuda')
            with DtypeFlow() as cuda:
                on_cuda(torch.randn(2, 3, 64, 64, device='cuda'))
    cuda.seen.pop('device.default', None)  # FakeTensor's own device queries
    # aten::linear lowers an N-d input by device (addmm on the CPU, matmul's mm + add on CUDA):
    # those GEMMs may differ in name, never in dtype.
    gemms = {'mm.default', 'addmm.default'}
    assert set(emulated.seen) ^ set(cuda.seen) <= gemms
    for flow in (emulated.seen, cuda.seen):
        assert all(dtypes == ((torch.bfloat16, ) * len(dtypes[0]), (torch.bfloat16, ))
                   for op in gemms & set(flow) for dtypes in flow[op])
    assert {op: seen for op, seen in emulated.seen.items() if op not in gemms} == \
        {op: seen for op, seen in cuda.seen.items() if op not in gemms}
    assert emulated.seen['native_layer_norm.default'] != cpu.seen['native_layer_norm.default']


# ------------------------------------------------------------------------------- no-sync guard
@pytest.mark.parametrize('call', [
    lambda t: t.sum().item(), lambda t: float(t.sum()), lambda t: bool(t.sum() > 0),
    lambda t: t.nonzero(), lambda t: t[t > 0], lambda t: t.masked_select(t > 0),
    lambda t: torch.unique(t), lambda t: torch.repeat_interleave(torch.tensor([1, 2])),
    lambda t: torch.equal(t, t),
])
def test_guard_raises_on_synchronising_ops(call):
    t = torch.randn(4)
    with pytest.raises(SyncError, match='synchronisation'), NoSyncGuard():
        call(t)


@pytest.mark.parametrize('call', [
    lambda t: t.sum(), lambda t: t[torch.tensor([0, 2])], lambda t: torch.where(t > 0, t, 0),
    lambda t: torch.repeat_interleave(t, torch.tensor([1, 2, 1, 0]), output_size=4),
    lambda t: t.clamp(min=0).sum() / t.numel(),
])
def test_guard_lets_asynchronous_ops_run(call):
    with NoSyncGuard() as guard:
        call(torch.randn(4))
    assert guard.syncs == []


def test_guard_sees_device_to_host_copies():
    with fake_cuda():
        on_device = torch.randn(4).to('cuda')  # host to device: asynchronous
        with NoSyncGuard():
            on_device.mul(2).to('cuda')
        for copy in (lambda t: t.cpu(), lambda t: torch.empty(4).copy_(t)):
            with pytest.raises(SyncError, match='copies from the device to the host'), NoSyncGuard():
                copy(on_device)


def test_guard_records_allowed_sites():
    def check(t):
        return bool(t.isfinite().all())
    with NoSyncGuard(allow=['test_gpu_behaviour.py:check']) as guard:
        check(torch.randn(3))
    assert len(guard.syncs) == 1 and guard.syncs[0][2].endswith('in check')


@pytest.mark.parametrize('family', FAMILIES)
def test_cpu_forward_and_backward_synchronise_only_in_the_input_check(family):
    """On CPU tensors a training forward + backward synchronises nowhere but in the input's NaN/Inf
    check, which runs on CPU tensors only (MultiScaleBackbone.check_input)."""
    model = FAMILIES[family]().train()
    with NoSyncGuard(allow=['backbone.py:check_input']) as guard:
        ramp_loss(model(torch.randn(2, 3, 64, 64))).backward()
    assert {site.split('/')[-1].split(':')[0] + ' ' + site.rsplit(' in ', 1)[1]
            for _, _, site in guard.syncs} <= {'backbone.py check_input'}
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize('family', list(FAMILIES))
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_cuda_forward_never_synchronises(family, dtype):
    """The forward on (fake) CUDA tensors, in fp32 and under bf16 autocast: the code's GPU
    branches (no input check, the GPU's fast paths) with torch's CUDA autocast kernels."""
    model = FAMILIES[family]().train()
    with fake_cuda(None if dtype == torch.float32 else dtype):
        on_cuda = model.to('cuda')
        x = torch.randn(2, 3, 64, 64, device='cuda')
        with NoSyncGuard():
            outs = on_cuda(x)
    assert all(o.device.type == 'cuda' for o in outs)
