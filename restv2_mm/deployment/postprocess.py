"""What follows the exported graph, in numpy: mask pasting and the resize of segmentation logits to
the original image, written to compute what mmdet's and mmseg's torch code computes.

Both are bilinear sampling along each axis, so each is two small matrix products per map:
``W_y @ map @ W_x^T`` with a (out, in) weight matrix per axis (two non-zeros a row).
"""
from typing import Sequence, Tuple

import numpy as np


def _bilinear_weights(src: np.ndarray, size: int, zeros_outside: bool) -> np.ndarray:
    """(len(src), size) weights of linear interpolation at source positions ``src``.

    ``zeros_outside``: samples beyond the ends read zeros (``grid_sample``'s ``padding_mode=
    'zeros'``); else ``src`` is clamped to the first pixel and the last neighbour repeats
    (``F.interpolate``'s ``area_pixel_compute_source_index``/``guard_index_and_lambda``).
    """
    rows = np.arange(len(src))
    weights = np.zeros((len(src), size), dtype=np.float64)
    if zeros_outside:
        low = np.floor(src).astype(np.int64)
        frac = src - low
        for index, weight in ((low, 1 - frac), (low + 1, frac)):
            inside = (index >= 0) & (index < size)
            np.add.at(weights, (rows[inside], index[inside]), weight[inside])
        return weights
    src = np.maximum(src, 0)
    low = np.minimum(np.floor(src).astype(np.int64), size - 1)
    frac = np.clip(src - low, 0, 1)
    high = np.minimum(low + 1, size - 1)
    np.add.at(weights, (rows, low), 1 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights


def resize_bilinear(maps: np.ndarray, size: Tuple[int, int], align_corners: bool = False) -> np.ndarray:
    """``torch.nn.functional.interpolate(maps, size, mode='bilinear', align_corners)`` (no
    antialiasing) of (C, H, W) maps, as mmseg resizes logits to the original image.

    Returns:
        (C, size[0], size[1]) float32.
    """
    out = []
    for axis, (n_out, n_in) in enumerate(zip(size, maps.shape[1:])):
        dst = np.arange(n_out, dtype=np.float64)
        if align_corners:
            src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.)
        else:
            src = (dst + 0.5) * (n_in / n_out) - 0.5
        out.append(_bilinear_weights(src, n_in, zeros_outside=False))
    rows, cols = out
    return np.einsum('oh,chw,pw->cop', rows, maps.astype(np.float64), cols).astype(np.float32)


def paste_masks(masks: np.ndarray, boxes: np.ndarray, image_shape: Sequence[int],
                threshold: float = 0.5) -> np.ndarray:
    """Each (M, M) box-relative mask probability map pasted into an image of ``image_shape``, as
    mmdet's ``FCNMaskHead`` does on the CPU (``_do_paste_mask`` with ``skip_empty=True``, one mask
    at a time): ``grid_sample`` (bilinear, ``align_corners=False``, zeros outside) at the pixel
    centres inside ``[floor(x1) - 1, ceil(x2) + 1)`` x ``[floor(y1) - 1, ceil(y2) + 1)``, then
    ``>= threshold``.

    Args:
        masks: (K, M, M) probabilities.
        boxes: (K, 4) x1, y1, x2, y2 in the image's pixels.
        image_shape: (H, W) of the image.
        threshold: ``mask_thr_binary`` of the config.

    Returns:
        (K, H, W) bool.
    """
    height, width = int(image_shape[0]), int(image_shape[1])
    out = np.zeros((len(masks), height, width), dtype=bool)
    for k, (mask, box) in enumerate(zip(masks, np.asarray(boxes, dtype=np.float32))):
        x0, y0, x1, y1 = (float(v) for v in box)
        left, top = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
        right, bottom = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
        if right <= left or bottom <= top:
            continue
        axes = []
        for lo, hi, start, end in ((top, bottom, y0, y1), (left, right, x0, x1)):
            centres = np.arange(lo, hi, dtype=np.float32) + np.float32(0.5)
            with np.errstate(divide='ignore', invalid='ignore'):
                grid = (centres - np.float32(start)) / np.float32(end - start) * 2 - 1
            grid[np.isinf(grid)] = 0  # a zero-size box, as mmdet does
            src = ((grid.astype(np.float64) + 1) * mask.shape[0] - 1) / 2
            src[np.isnan(src)] = -2.  # reads only zeros
            axes.append(_bilinear_weights(src, mask.shape[0], zeros_outside=True))
        pasted = axes[0] @ mask.astype(np.float64) @ axes[1].T
        out[k, top:bottom, left:right] = pasted >= threshold
    return out


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (float32)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
