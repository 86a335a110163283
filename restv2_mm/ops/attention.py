"""Scaled dot-product attention: ``torch``'s fused kernel, or the explicit matmuls it replaces."""
from typing import Optional

import torch
import torch.nn.functional as F

from .switch import fast_path_enabled


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                        attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
                        scale: Optional[float] = None) -> torch.Tensor:
    """``softmax(q @ k^T * scale + attn_mask) @ v`` written out (ResTv2 eq. 2), the attention
    matrix materialized as in the official code.

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


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              attn_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.,
              scale: Optional[float] = None) -> torch.Tensor:
    """Attention through ``F.scaled_dot_product_attention`` (the L x S matrix is never stored,
    flash/memory-efficient kernels where the device has them), or :func:`attention_reference`
    where the fast paths are off. Same arguments and shapes; ``dropout_p`` applies as given
    (pass 0 outside training). A float ``attn_mask`` is cast to the dtype of ``q`` for the fused
    kernel, which refuses mixed dtypes (an fp32 decay mask under fp16 autocast).

    With an additive float mask on the CPU the explicit matmuls run even on the fast path: for the
    shapes callers pass here (5-D inputs, 3-D masks) torch's CPU kernel falls back to its math
    implementation plus checks of the mask, measured 1.0-2.3x slower than the reference (2 threads,
    L = 56..4000). RMT's retention uses :func:`restv2_mm.ops.retention.decay_attention` instead,
    which passes 4-D views and masks and so reaches CPU flash attention."""
    if not fast_path_enabled() or (attn_mask is not None and attn_mask.is_floating_point()
                                   and q.device.type == 'cpu'):
        return attention_reference(q, k, v, attn_mask, dropout_p, scale)
    if attn_mask is not None and attn_mask.is_floating_point() and attn_mask.dtype != q.dtype:
        attn_mask = attn_mask.to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                                          scale=scale)
