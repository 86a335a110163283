"""The numpy steps after the graph compute what mmdet's and mmseg's torch code computes: mask
pasting (mmdet ``_do_paste_mask`` on the CPU, thresholded) and the logits' resize to the original
image (``F.interpolate``, bilinear)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from restv2_mm.deployment import paste_masks, resize_bilinear


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('size', [(37, 53), (200, 120), (13, 301)])
def test_resize_is_interpolate(size, align_corners):
    maps = torch.randn(5, 41, 67, dtype=torch.float64)
    want = F.interpolate(maps[None], size=size, mode='bilinear', align_corners=align_corners)[0]
    np.testing.assert_allclose(resize_bilinear(maps.numpy(), size, align_corners), want.numpy(),
                               rtol=0, atol=1e-6)  # float32 output


def test_resize_at_an_ade20k_image_size():
    """150 classes' logits at a quarter of a 512x683 image back to the image (UperNet's output):
    equal to F.interpolate in float32 (positions computed in float32 as torch does), at a size
    where a dense product over all five indices would run for minutes."""
    maps = torch.randn(150, 128, 171)
    want = F.interpolate(maps[None], size=(512, 683), mode='bilinear', align_corners=False)[0]
    np.testing.assert_allclose(resize_bilinear(maps.numpy(), (512, 683)), want.numpy(),
                               rtol=0, atol=1e-5)


@pytest.mark.mmcv_ops
def test_paste_is_mmdet_paste():
    from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
    rng = np.random.default_rng(0)
    height, width = 97, 131
    xy = rng.uniform(0, 120, (40, 2))
    wh = rng.uniform(0.5, 80, (40, 2))
    boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)  # clipped, as detected
    boxes[:, 0::2], boxes[:, 1::2] = boxes[:, 0::2].clip(0, width), boxes[:, 1::2].clip(0, height)
    boxes[0] = [10, 10, 10, 30]  # zero width: mmdet maps the infinite grid to the centre
    masks = rng.uniform(0, 1, (40, 28, 28)).astype(np.float32)
    got = paste_masks(masks, boxes, (height, width), threshold=0.5)
    for k in range(len(boxes)):  # mmdet's CPU path: one mask at a time, skip_empty=True
        want = np.zeros((height, width), dtype=bool)
        pasted, region = _do_paste_mask(torch.from_numpy(masks[k:k + 1, None]),
                                        torch.from_numpy(boxes[k:k + 1]), height, width, skip_empty=True)
        want[region] = (pasted[0] >= 0.5).numpy()
        assert (got[k] != want).sum() == 0, k
    assert got.sum() > 1000  # the boxes overlap the image: something was pasted
