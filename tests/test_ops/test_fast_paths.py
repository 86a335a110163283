"""The one table of fast paths (restv2_mm.ops.FAST_PATHS): every entry has test inputs, is the
path its op takes on them, and equals the op's plain-PyTorch reference there: values, and for
training paths the gradients of the inputs and of the modules' parameters (float64 where the path
allows)."""
import copy

import pytest
import torch
from torch import nn

import restv2_mm.ops as ops
from restv2_mm.ops import fast_paths

# float64: both sides compute the same function, rounding apart; float32: the fused kernels round
# differently (one op less); bfloat16: the same ops in the same order, the gradients' products
# accumulate in another order (bf16 has 8 bits of mantissa).
TOLERANCES = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-5),
              torch.bfloat16: dict(rtol=2e-2, atol=2e-2)}


def differentiable(args) -> list:
    """The tensors of ``args`` that require gradients, then the modules' parameters."""
    tensors = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    return tensors + [p for a in args if isinstance(a, nn.Module) for p in a.parameters()]


def run(path, args, enabled):
    with ops.fast_path(enabled), torch.set_grad_enabled(path.grad):
        chosen = fast_paths.choose(path.op, *args)
        return chosen, getattr(ops, path.op)(*args)


@pytest.mark.parametrize('path', ops.FAST_PATHS, ids=ops.fast_path_name)
def test_every_fast_path_equals_its_reference(path):
    assert callable(path.example), f'{path.op}: {path.name!r} has no test inputs (example)'
    assert path.op in ops.__all__ and path.reference is not path.fast
    args = path.example(path.dtype)
    ref_args = copy.deepcopy(args)
    chosen, got = run(path, args, True)
    assert chosen is path, f'on its example {path.op} takes {chosen and chosen.name!r}'
    chosen, want = run(path, ref_args, False)
    assert chosen is None
    assert got.dtype == want.dtype == path.dtype and got.shape == want.shape
    tol = TOLERANCES[path.dtype]
    torch.testing.assert_close(got, want, **tol)
    if path.grad:
        inputs, ref_inputs = differentiable(args), differentiable(ref_args)
        assert inputs, f'{path.op}: {path.name!r} is a training path with nothing to differentiate'
        grad = torch.randn(want.shape, generator=torch.Generator().manual_seed(1)).to(want.dtype)
        for a, b in zip(torch.autograd.grad(got, inputs, grad),
                        torch.autograd.grad(want, ref_inputs, grad)):
            torch.testing.assert_close(a, b, **tol)


def test_the_table_is_what_the_docs_show():
    """One row per entry, in order (docs/contributing.md renders it with
    ``python tools/misc/fast_paths.py --table``; tests/test_docs/test_tables.py compares)."""
    lines = ops.fast_path_table().splitlines()
    assert len(lines) == 2 + len(ops.FAST_PATHS)
    for line, path in zip(lines[2:], ops.FAST_PATHS):
        assert line.startswith(f'| `{path.op}` | {path.name} | {path.when} |')


def test_an_op_runs_its_reference_where_no_condition_holds():
    """A tanh GELU has no fast path: the modules run, with the fast paths on."""
    fc1, act, fc2 = nn.Linear(4, 8), nn.GELU(approximate='tanh'), nn.Linear(8, 4)
    x = torch.randn(3, 4)
    with ops.fast_path(True):
        assert fast_paths.choose('mlp', x, fc1, act, fc2) is None
        torch.testing.assert_close(ops.mlp(x, fc1, act, fc2), fc2(act(fc1(x))), rtol=0, atol=0)


def test_a_fast_path_left_out_gives_way_to_the_next_or_the_reference():
    # fp32 CPU inference takes the oneDNN MLP; left out, the op falls to its next path whose
    # condition holds (none without autograd) and so to its reference; the block ends, it is back.
    fc1, act, fc2 = nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 4)
    x = torch.randn(3, 4)
    onednn, recomputed = [p for p in ops.FAST_PATHS if p.op == 'mlp']
    with ops.fast_path(True), torch.no_grad():
        if not onednn.runs(x, fc1, act, fc2):
            pytest.skip('oneDNN is not present in this torch build')
        assert fast_paths.choose('mlp', x, fc1, act, fc2) is onednn
        with ops.without_fast_paths(ops.fast_path_name(onednn)):
            assert fast_paths.choose('mlp', x, fc1, act, fc2) is None
            torch.testing.assert_close(ops.mlp(x, fc1, act, fc2), fc2(act(fc1(x))), rtol=0, atol=0)
        assert fast_paths.choose('mlp', x, fc1, act, fc2) is onednn
    with ops.fast_path(True), ops.without_fast_paths(ops.fast_path_name(onednn)):
        x.requires_grad_()  # training: the next path of the op takes over
        assert fast_paths.choose('mlp', x, fc1, act, fc2) is recomputed


def test_leaving_out_an_unknown_fast_path_names_the_known_ones():
    # B80
    with pytest.raises(ValueError, match=r"names must be fast paths.*\['nope'\].*'mlp: oneDNN fc1 \+ GELU'"):
        with ops.without_fast_paths('nope'):
            pass
