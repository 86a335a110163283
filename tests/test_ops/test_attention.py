"""restv2_mm.ops.attention: where torch's fused kernel runs (float masks on the CPU), the mask's
dtype for it, and the explicit reference against the definition."""
from unittest import mock

import pytest
import torch

import restv2_mm.ops as ops
from restv2_mm.ops import fast_paths
from restv2_mm.ops.kernels.attention import NO_CUDNN, only_backends, sdpa, sdpa_backends
from restv2_mm.utils import torch_compat


def explicit_attention(q, k, v, mask=None, scale=None):
    """softmax(q k^T * scale + mask) v, written out here independently of the package."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    logits = torch.einsum('...ld,...sd->...ls', q, k) * scale
    if mask is not None:
        logits = logits + mask
    return torch.einsum('...ls,...sd->...ld', logits.softmax(-1), v)


@pytest.mark.parametrize('enabled', [True, False])
@pytest.mark.parametrize('mask_shape', [None, (3, 50, 7), (1, 3, 50, 7)])
def test_both_paths_equal_the_definition(enabled, mask_shape):
    q, k, v = (torch.randn(2, 3, n, d, dtype=torch.float64) for n, d in ((50, 16), (7, 16), (7, 24)))
    mask = None if mask_shape is None else torch.randn(mask_shape, dtype=torch.float64)
    with ops.fast_path(enabled):
        out = ops.attention(q, k, v, attn_mask=mask, scale=0.7)
    torch.testing.assert_close(out, explicit_attention(q, k, v, mask, 0.7), rtol=1e-10, atol=1e-12)


def test_float_masks_on_the_cpu():
    """A 3-D float mask (or 5-D inputs) would select torch's CPU math fallback, slower than the
    matmuls: the reference runs. A 4-D one on 4-D inputs reaches flash attention from torch 2.3;
    a boolean mask and no mask always take the fused kernel."""
    q = torch.randn(2, 4, 9, 8)
    mask3, mask4 = torch.randn(4, 9, 9), torch.randn(1, 4, 9, 9)
    with ops.fast_path(True):
        assert fast_paths.choose('attention', q, q, q, mask3, 0., None) is None
        assert fast_paths.choose('attention', q[None], q[None], q[None], mask4[None], 0., None) \
            is None
        assert fast_paths.choose('attention', q, q, q, None, 0., None) is not None
        assert fast_paths.choose('attention', q, q, q, mask3 > 0, 0., None) is not None
        for version, fused in (((2, 2), False), ((2, 3), True)):
            with mock.patch.object(torch_compat, 'torch_version', return_value=version):
                assert (fast_paths.choose('attention', q, q, q, mask4, 0., None) is not None) \
                    == fused
                with mock.patch.object(q.__class__, 'device', new_callable=mock.PropertyMock,
                                       return_value=torch.device('cuda')):
                    assert fast_paths.choose('attention', q, q, q, mask3, 0., None) is not None


def test_float_mask_is_cast_to_the_query_dtype_for_the_kernel():
    """An fp32 decay mask under bf16/fp16 autocast: the kernel refuses mixed dtypes."""
    q = torch.randn(1, 2, 5, 4, dtype=torch.bfloat16)
    mask = torch.randn(1, 2, 5, 5)
    with mock.patch('torch.nn.functional.scaled_dot_product_attention',
                    return_value='sdpa') as kernel:
        sdpa(q, q, q, mask)
    assert kernel.call_args.kwargs['attn_mask'].dtype == torch.bfloat16


@pytest.mark.parametrize('device, masked, version, want', [
    ('cuda', True, (2, 14), NO_CUDNN), ('cuda', True, (2, 3), NO_CUDNN),
    ('cuda', False, (2, 14), None), ('cpu', True, (2, 14), None),
    ('cuda', True, (2, 2), None)])  # no cuDNN attention before torch 2.3
def test_masked_cuda_calls_leave_out_cudnn_attention(device, masked, version, want):
    assert sdpa_backends(device, masked, version) == want
    assert 'cudnn' not in NO_CUDNN


def test_the_kernel_runs_without_cudnn_where_the_path_is_cuda():
    """Under ``choose_as('cuda')`` (the decisions of a GPU, on CPU tensors) a masked call runs
    inside a context that disables cuDNN attention and keeps the others; then all is restored."""
    seen = []

    def kernel(*args, **kwargs):
        b = torch.backends.cuda
        seen.append((b.cudnn_sdp_enabled(), b.flash_sdp_enabled(), b.mem_efficient_sdp_enabled(),
                     b.math_sdp_enabled()))
        return args[0]

    q, mask = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 5)
    before = torch.backends.cuda.cudnn_sdp_enabled()
    with mock.patch('torch.nn.functional.scaled_dot_product_attention', side_effect=kernel):
        sdpa(q, q, q, mask)
        with ops.choose_as('cuda'):
            sdpa(q, q, q, None)
            sdpa(q, q, q, mask)
    assert seen == [(before, True, True, True)] * 2 + [(False, True, True, True)]
    assert torch.backends.cuda.cudnn_sdp_enabled() == before


def test_backends_on_a_torch_without_sdpa_kernel():
    """torch 2.1/2.2 have ``torch.backends.cuda.sdp_kernel`` only."""
    with mock.patch.object(torch.nn, 'attention', None), \
            mock.patch.object(torch.backends.cuda, 'sdp_kernel', create=True) as old:
        only_backends(('efficient', 'math'))
    old.assert_called_once_with(enable_flash=False, enable_mem_efficient=True, enable_math=True)


def test_choose_as_names_a_device_type():
    with pytest.raises(ValueError, match='device_type'):
        with ops.choose_as('gpu'):
            pass
