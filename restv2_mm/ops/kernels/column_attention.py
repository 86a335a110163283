"""Attention along the columns of B maps (the second half of RMT's decomposed retention): all
images in one call (the reference) or one image at a time, which keeps less on the CPU."""
import torch

from ..switch import path_device


def _attention(*args) -> torch.Tensor:
    from ..fast_paths import attention  # the op, with its own fast paths (fast_paths imports us)
    return attention(*args)


def column_attention_batched(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                             attn_mask: torch.Tensor) -> torch.Tensor:
    """One attention over the (B*W, N, H, D) layout: a fixed number of kernels whatever B, at the
    cost of copies of q, k and v into that layout (kept for backward)."""
    b, h, w, n, d = q.shape

    def by_cols(t):  # (B, H, W, N, D) -> (B*W, N, H, D), a copy
        return t.permute(0, 2, 3, 1, 4).reshape(b * w, n, h, d)

    out = _attention(by_cols(q), by_cols(k), by_cols(v), attn_mask, 0., 1.)
    return out.view(b, w, n, h, d).permute(0, 3, 1, 2, 4)


def column_attention_per_image(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                               attn_mask: torch.Tensor) -> torch.Tensor:
    """One attention per image on (W, N, H, D) views, no copies; B calls. ``unbind``, not
    indexing: its backward stacks the B gradients once, where each ``q[i]`` would fill a zero
    tensor of all of q."""
    def by_cols(t):  # (H, W, N, D) of one image -> (W, N, H, D), a view
        return t.permute(1, 2, 0, 3)

    out = torch.stack([  # (B, W, H, N, D): N and D stay mergeable in the returned view
        _attention(by_cols(qi), by_cols(ki), by_cols(vi), attn_mask, 0., 1.).transpose(1, 2)
        for qi, ki, vi in zip(q.unbind(0), k.unbind(0), v.unbind(0))])
    return out.transpose(1, 2)


def column_attention_per_image_runs(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                    attn_mask: torch.Tensor) -> bool:
    """A CPU training step (autograd recording) with more than one image: there the batched
    layout's copies, kept for backward, cost more memory and time than the extra calls. On a GPU
    the calls (kernel launches) cost more."""
    return (path_device(q) == 'cpu' and q.shape[0] > 1 and torch.is_grad_enabled()
            and any(t.requires_grad for t in (q, k, v)))


def column_attention_example(dtype: torch.dtype) -> tuple:
    """q, k, v (3, 5, 4, 2, 8) (batch, H, W, heads, channels), a (1, 2, 5, 5) float mask."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 5, 4, 2, 8, generator=g, dtype=dtype, requires_grad=True)
               for _ in range(3))
    return q, k, v, torch.randn(1, 2, 5, 5, generator=g, dtype=dtype)
