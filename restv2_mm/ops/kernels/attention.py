"""Scaled dot-product attention: the explicit matmuls (the reference) and torch's fused kernel,
with the backends it may use where a known bug applies."""
import contextlib
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from ...utils.torch_compat import cpu_sdpa_takes_float_mask, torch_version
from ..switch import path_device

# Fused backends without cuDNN attention, whose masked backward gives NaN gradients for q when
# L % 128 == 64 (pytorch/pytorch#196678; RMT-S at 384 has L = 576 in stage 3).
NO_CUDNN = ('flash', 'efficient', 'math')


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
                        scale: Optional[float] = None) -> torch.Tensor:
    """``softmax(q @ k^T * scale + attn_mask) @ v`` written out (ResTv2 eq. 2), the attention
    matrix materialised as in the official codes.

    Shape:
        q (..., L, E), k (..., S, E), v (..., S, Ev), attn_mask broadcastable to (..., L, S)
        (added to the logits) -> (..., L, Ev). ``scale`` defaults to E^-1/2.
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    attn = (q @ k.transpose(-2, -1)) * scale
    if attn_mask is not None:
        attn = attn + attn_mask
    attn = attn.softmax(dim=-1)
    if dropout_p > 0:
        attn = F.dropout(attn, dropout_p)
    return attn @ v


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
         attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
         scale: Optional[float] = None) -> torch.Tensor:
    """``F.scaled_dot_product_attention``: the L x S matrix is never stored (flash or
    memory-efficient kernels where the device has them). A float mask is cast to the dtype of
    ``q``, which the kernel requires (an fp32 decay mask under fp16 autocast)."""
    if attn_mask is not None and attn_mask.is_floating_point() and attn_mask.dtype != q.dtype:
        attn_mask = attn_mask.to(q.dtype)
    backends = sdpa_backends(path_device(q), attn_mask is not None, torch_version())
    with contextlib.nullcontext() if backends is None else only_backends(backends):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                                              scale=scale)


def sdpa_backends(device_type: str, masked: bool,
                  version: Tuple[int, int]) -> Optional[Tuple[str, ...]]:
    """The backends a fused attention call may use, or None where torch chooses freely.

    A masked call on CUDA leaves out cuDNN attention (a backend from torch 2.3, the default one on
    H100/H200 with torch's bundled cuDNN), whose masked backward gives NaN gradients for q when
    L % 128 == 64 (pytorch/pytorch#196678): flash, memory-efficient or math attention run instead.

    Args:
        device_type: 'cpu', 'cuda', ...
        masked: Whether the call has an ``attn_mask``.
        version: (major, minor) of torch.

    Returns:
        Names among 'flash', 'efficient', 'math' (:data:`NO_CUDNN`), or None.
    """
    if device_type == 'cuda' and masked and version >= (2, 3):
        return NO_CUDNN
    return None


def only_backends(names: Tuple[str, ...]):
    """A context in which SDPA uses only the backends ``names`` ('flash', 'efficient', 'math'):
    ``torch.nn.attention.sdpa_kernel`` (torch >= 2.3), else ``torch.backends.cuda.sdp_kernel``."""
    attention = getattr(torch.nn, 'attention', None)
    if attention is not None and hasattr(attention, 'sdpa_kernel'):
        kind = attention.SDPBackend
        table = {'flash': kind.FLASH_ATTENTION, 'efficient': kind.EFFICIENT_ATTENTION,
                 'math': kind.MATH}
        return attention.sdpa_kernel([table[n] for n in names])
    return torch.backends.cuda.sdp_kernel(enable_flash='flash' in names,
                                          enable_mem_efficient='efficient' in names,
                                          enable_math='math' in names)


def sdpa_runs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
              scale: Optional[float] = None) -> bool:
    """No float mask, a GPU, or on the CPU a 4-D float mask with 4-D inputs on a torch whose flash
    attention takes one (>= 2.3). Elsewhere torch's CPU dispatch picks its math kernel, which
    materialises the matrix and checks the mask: slower than the explicit matmuls."""
    if attn_mask is None or not attn_mask.is_floating_point() or path_device(q) != 'cpu':
        return True
    return cpu_sdpa_takes_float_mask() and q.dim() == 4 and attn_mask.dim() == 4


def attention_example(dtype: torch.dtype) -> tuple:
    """q (2, 3, 9, 8), k and v (2, 3, 5, 8), a (1, 3, 9, 5) float mask where the CPU kernel takes
    one (torch >= 2.3), scale 0.3."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, n, 8, generator=g, dtype=dtype, requires_grad=True)
               for n in (9, 5, 5))
    mask = torch.randn(1, 3, 9, 5, generator=g, dtype=dtype) if cpu_sdpa_takes_float_mask() \
        else None
    return q, k, v, mask, 0., 0.3
