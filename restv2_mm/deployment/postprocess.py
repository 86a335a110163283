"""What follows the exported graph, in numpy: mask pasting and the resize of segmentation logits to
the original image, written to compute what mmdet's and mmseg's torch code computes.

Both are bilinear sampling along each axis: a mask is pasted as two small matrix products,
``W_y @ mask @ W_x^T`` with a (out, in) weight matrix per axis (two non-zeros a row); logits, many
large maps, are resized by gathering each axis's two neighbours.
"""
from typing import Sequence, Tuple

import numpy as np


def _bilinear_weights(src: np.ndarray, size: int) -> np.ndarray:
    """(len(src), size) weights of linear interpolation at source positions ``src``, samples
    beyond the ends reading zeros (``grid_sample``'s ``padding_mode='zeros'``)."""
    rows = np.arange(len(src))
    weights = np.zeros((len(src), size), dtype=np.float64)
    low = np.floor(src).astype(np.int64)
    frac = src - low
    for index, weight in ((low, 1 - frac), (low + 1, frac)):
        inside = (index >= 0) & (index < size)
        np.add.at(weights, (rows[inside], index[inside]), weight[inside])
    return weights


def resize_bilinear(maps: np.ndarray, size: Tuple[int, int], align_corners: bool = False) -> np.ndarray:
    """``torch.nn.functional.interpolate(maps, size, mode='bilinear', align_corners)`` (no
    antialiasing) of (C, H, W) maps, as mmseg resizes logits to the original image: along each
    axis, the two neighbours of each source position (clamped to the first pixel, the last one
    repeated: ``area_pixel_compute_source_index``/``guard_index_and_lambda``), mixed linearly.

    Returns:
        (C, size[0], size[1]) float32.
    """
    # Positions and weights in the maps' precision, as torch computes them (float32 for float32).
    dtype = np.float64 if np.asarray(maps).dtype == np.float64 else np.float32
    out = np.asarray(maps, dtype=dtype)
    for axis, n_out in ((2, int(size[1])), (1, int(size[0]))):  # torch mixes along W first
        n_in = out.shape[axis]
        dst = np.arange(n_out, dtype=dtype)
        if align_corners:
            src = dst * (dtype(n_in - 1) / dtype(n_out - 1) if n_out > 1 else dtype(0))
        else:
            src = np.maximum((dst + dtype(0.5)) * (dtype(n_in) / dtype(n_out)) - dtype(0.5), 0)
        low = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        high = np.minimum(low + 1, n_in - 1)
        frac = np.clip(src - low, 0, 1).astype(dtype)
        frac = frac[:, None] if axis == 1 else frac
        first, second = np.take(out, low, axis=axis), np.take(out, high, axis=axis)
        first *= 1 - frac  # in place: the maps are large (C classes at the image's size)
        second *= frac
        first += second
        out = first
    return out.astype(np.float32, copy=False)


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
            axes.append(_bilinear_weights(src, mask.shape[0]))
        pasted = axes[0] @ mask.astype(np.float64) @ axes[1].T
        out[k, top:bottom, left:right] = pasted >= threshold
    return out


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (float32)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)
