"""What the CPU can check of RMT's GPU path: kernels per training step independent of the batch,
one decay mask per stage under autocast, position tables exact in fp16/bf16 modules."""
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from restv2_mm.models import RMT
from restv2_mm.models.rmt import RetentionRelPos2d, RMTStage
from restv2_mm.ops import choose_as, fast_path

ARCH = dict(embed_dims=[16, 16, 32, 32], depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2],
            mlp_ratios=[2] * 4, init_values=[2] * 4, heads_ranges=[4] * 4,
            chunkwise_recurrents=[True, True, False, False], layerscales=[False] * 4)


class OpCounter(TorchDispatchMode):
    """Counts the aten ops dispatched (what a GPU launches kernels for)."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func)] += 1
        return func(*args, **(kwargs or {}))


def step_ops(batch: int) -> Counter:
    """The aten ops of one training step (forward and backward) of a narrow RMT on 32x32."""
    torch.manual_seed(0)
    model = RMT(arch=ARCH, drop_path_rate=0.1).train()
    x = torch.randn(batch, 3, 32, 32)
    with fast_path(True), OpCounter() as counter:
        sum(o.mean() for o in model(x)).backward()
    return counter.ops


def test_training_step_ops_do_not_grow_with_the_batch_on_the_gpu_path():
    """On the path a GPU takes (column attention batched), a training step dispatches the same
    ops at B = 2 and B = 6; the CPU path loops over images (one attention per image and block)."""
    with choose_as('cuda'):
        gpu2, gpu6 = step_ops(2), step_ops(6)
    assert gpu2 == gpu6
    sdpa = 'aten._scaled_dot_product_flash_attention_for_cpu.default'
    assert step_ops(6)[sdpa] - gpu6[sdpa] == 2 * 5  # two decomposed blocks: 6 calls, not 1


def test_one_decay_mask_per_stage_under_autocast():
    """A 4-block whole-map stage under CPU bf16 autocast keeps its (N, HW, HW) mask once for
    backward, in bf16: the blocks share it, no per-call cast."""
    torch.manual_seed(0)
    stage = RMTStage(embed_dims=32, out_dims=None, depth=4, num_heads=2, init_value=2,
                     heads_range=4, mlp_ratio=2, decomposed=False, drop_paths=[0.] * 4,
                     layer_scale_init=None)
    x = torch.randn(2, 8, 8, 32, requires_grad=True)
    masks = {}

    def pack(t):
        if t.shape[-2:] == (64, 64) and t.numel() == 2 * 64 * 64:  # (1,) N, HW, HW
            masks[t.untyped_storage().data_ptr()] = t.dtype
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), \
            torch.autocast('cpu', dtype=torch.bfloat16):
        stage(x)
    assert list(masks.values()) == [torch.bfloat16]


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_position_tables_are_computed_in_float32(dtype):
    """A .half()/.bfloat16() module at 200x334 (stage 1 of a 1333x800 image; the raster index
    passes fp16's 65504): the tables are the fp32 module's, rounded once, all finite."""
    ref = RetentionRelPos2d(64, 4, 2, 4)
    low = RetentionRelPos2d(64, 4, 2, 4).to(dtype)
    assert low.angle.dtype == low.decay.dtype == torch.float32
    assert low.state_dict().keys() == ref.state_dict().keys()
    for decomposed, hw in ((True, (200, 334)), (False, (12, 20))):
        (sin, cos), masks = low(hw, decomposed, dtype)
        (rsin, rcos), rmasks = ref(hw, decomposed)
        for got, want in zip((sin, cos, *masks) if decomposed else (sin, cos, masks),
                             (rsin, rcos, *rmasks) if decomposed else (rsin, rcos, rmasks)):
            assert got.dtype == dtype and torch.isfinite(got).all()
            torch.testing.assert_close(got, want.to(dtype), rtol=0, atol=0)
