"""restv2_mm.ops.attention with an additive float mask (RMT's decay masks)."""
from unittest import mock

import torch

import restv2_mm.ops as ops


def test_float_mask_on_cpu_takes_the_explicit_path():
    """torch's CPU SDPA with a float mask is its math fallback, slower than the matmuls."""
    q, k, v = torch.randn(2, 4, 9, 8), torch.randn(2, 4, 9, 8), torch.randn(2, 4, 9, 8)
    mask = torch.randn(4, 9, 9)
    with ops.fast_path(True), mock.patch('torch.nn.functional.scaled_dot_product_attention',
                                         side_effect=AssertionError('SDPA called')):
        out = ops.attention(q, k, v, attn_mask=mask, scale=1.)
    assert torch.equal(out, ops.attention_reference(q, k, v, attn_mask=mask, scale=1.))
    with ops.fast_path(True), mock.patch('torch.nn.functional.scaled_dot_product_attention',
                                         return_value='sdpa') as sdpa:
        assert ops.attention(q, k, v) == 'sdpa'  # no mask: the fused kernel
        assert ops.attention(q, k, v, attn_mask=mask > 0) == 'sdpa'  # boolean mask: fused too
    assert sdpa.call_count == 2


def test_float_mask_is_cast_to_the_query_dtype_for_sdpa():
    q = torch.randn(1, 2, 5, 4, dtype=torch.bfloat16)
    mask = torch.randn(2, 5, 5)
    with ops.fast_path(True), mock.patch('torch.nn.functional.scaled_dot_product_attention',
                                         return_value='sdpa') as sdpa, \
            mock.patch.object(torch.Tensor, 'device', new_callable=mock.PropertyMock,
                              return_value=torch.device('cuda')):
        ops.attention(q, q, q, attn_mask=mask)
    assert sdpa.call_args.kwargs['attn_mask'].dtype == torch.bfloat16
