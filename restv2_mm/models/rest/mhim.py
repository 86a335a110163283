"""Multi-head interaction module (MHIM): ResTv1's EMSA, ResTv2 appendix B.

It mixes the heads' attention maps with a 1x1 conv over the head axis before the softmax and
normalises each head's map with an InstanceNorm after it, so the (N, k, L, L') attention matrix
must exist: this is written out with explicit matmuls and cannot take the fused
``scaled_dot_product_attention`` path of :func:`restv2_mm.ops.attention`.
"""
import torch
import torch.nn.functional as F
from torch import nn


def interaction_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                          transform_conv: nn.Module, transform_norm: nn.Module,
                          dropout_p: float = 0.) -> torch.Tensor:
    """``IN(Softmax(Conv1x1((Q K^T) * d^-1/2))) V`` (ResTv1 EMSA, ResTv2 appendix B).

    Explicit matmuls: MHIM acts on the attention matrix, which fused attention never forms. The
    scale is applied after ``q @ k^T`` as in the official code: scaling ``q`` first rounds
    differently, and the InstanceNorm amplifies the difference.

    Shape:
        q (N, k, L, d), k (N, k, L', d), v (N, k, L', d) -> (N, k, L, d).
    """
    attn = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    attn = transform_norm(transform_conv(attn).softmax(dim=-1))
    if dropout_p > 0:
        attn = F.dropout(attn, dropout_p)
    return attn @ v
