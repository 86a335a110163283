"""RMT's retention attention ``softmax(q k^T + M) v`` with a float decay mask M: the fused kernel,
or the explicit matmuls of the official code (``VisionRetentionChunk`` / ``VisionRetentionAll`` in
``classfication_release/RMT.py``).

The fused kernel (``F.scaled_dot_product_attention`` with ``M`` as an additive float mask: CPU flash
attention, GPU memory-efficient attention) never stores the (L x S) attention matrix, neither in
the forward nor for backward (it keeps a logsumexp per row), which is what fills memory at
detection and segmentation sizes. Measured on the 2-core CPU (fp32, forward / forward + backward,
ms): row attention of RMT stage 1 at 512x512 (128 x (4 heads, 128 x 128)) 181 -> 35 / 404 -> 179;
whole-map stage 3 at 512x512 (8 heads, 1024 x 1024) 159 -> 36 / 604 -> 224 (``docs/performance.md``).
"""
import torch
import torch.nn.functional as F

from ..utils.torch_compat import cpu_sdpa_takes_float_mask
from .attention import attention_reference
from .switch import fast_path_enabled


def fused_decay_attention(device: torch.device) -> bool:
    """Whether :func:`decay_attention` takes the fused kernel on ``device`` now: fast paths on,
    and on the CPU a torch whose flash attention takes a float mask (torch >= 2.3)."""
    return fast_path_enabled() and (torch.device(device).type != 'cpu'
                                    or cpu_sdpa_takes_float_mask())


def decay_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    mask: torch.Tensor) -> torch.Tensor:
    """``softmax(q @ k^T + mask) @ v`` (no scaling: RMT scales k beforehand).

    Fused where :func:`fused_decay_attention`, else :func:`restv2_mm.ops.attention_reference`. The
    mask is cast to the dtype of ``q`` for the fused kernel (an fp32 decay mask under fp16
    autocast).

    Shape:
        q (B, N, L, D), k (B, N, S, D), v (B, N, S, Dv), any strides with the last dim dense;
        mask (N, L, S), broadcast over B -> (B, N, L, Dv).
    """
    if not fused_decay_attention(q.device):
        return attention_reference(q, k, v, mask, scale=1.)
    # A 4-D mask: with a 3-D one torch's CPU dispatch picks the math kernel (the L x S matrix
    # materialised, plus mask checks), not flash attention.
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype).unsqueeze(0),
                                          scale=1.)
