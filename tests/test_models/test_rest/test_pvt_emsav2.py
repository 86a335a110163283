"""PVT-EMSAv2 (ResTv2 appendix A): mmdet's PVT with the upsampling branch in every attention."""
import pytest
import torch

pytest.importorskip('mmdet.models', reason="mmdet's models need mmcv's compiled ops")
from mmdet.models.backbones.pvt import PyramidVisionTransformer  # noqa: E402

from restv2_mm.models import PVTEMSAv2  # noqa: E402

TINY = dict(num_layers=[2, 2, 2, 2], drop_path_rate=0.)


def test_pvt_checkpoint_loads_with_only_the_branch_missing_and_zero_branch_equals_pvt():
    pvt = PyramidVisionTransformer(**TINY).eval()
    pvt.init_weights()
    ours = PVTEMSAv2(**TINY).eval()
    result = ours.load_state_dict(pvt.state_dict(), strict=False)
    assert result.unexpected_keys == []
    # Per attention: the pixel-shuffle conv (up.0) and the LayerNorm after it (up_norm).
    assert sorted({k.split('.attn.', 1)[1] for k in result.missing_keys}) == \
        ['up.0.bias', 'up.0.weight', 'up_norm.bias', 'up_norm.weight']
    assert len(result.missing_keys) == 4 * 8  # 8 encoder layers in PVT-Tiny
    for m in ours.modules():
        if hasattr(m, 'up_norm'):
            torch.nn.init.zeros_(m.up_norm.weight)
            torch.nn.init.zeros_(m.up_norm.bias)
    # float64: an equivalence of two computations, independent of the CPU's float32 kernels
    # (float32 reached 0.6 of a 1e-5 tolerance on AVX2).
    x = torch.randn(1, 3, 96, 128, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(pvt.double()(x), ours.double()(x)):
            assert torch.allclose(a, b, rtol=0, atol=1e-10)


def test_branch_changes_the_output_and_the_baseline_is_pvt():
    torch.manual_seed(0)
    ours = PVTEMSAv2(**TINY, out_indices=(3, )).eval()
    ours.init_weights()
    plain = PVTEMSAv2(up_target='none', **TINY, out_indices=(3, )).eval()
    assert set(plain.state_dict()) == set(PyramidVisionTransformer(**TINY).state_dict())
    result = plain.load_state_dict(ours.state_dict(), strict=False)
    assert result.missing_keys == [] and all('.up' in k for k in result.unexpected_keys)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out, base = ours(x), plain(x)
    assert isinstance(out, tuple) and out[0].shape == base[0].shape == (2, 512, 2, 2)
    assert not torch.allclose(out[0], base[0], atol=1e-3)


def test_bad_up_target():  # B59
    with pytest.raises(ValueError, match=r"up_target must be 'v' \(PVT-EMSAv2\) or 'none'"):
        PVTEMSAv2(up_target='k', **TINY)


def test_checkpoint_must_fit(tmp_path):  # B67
    """A PVT checkpoint lacks the branch: refused by stage, loaded knowingly with strict=False."""
    path = tmp_path / 'pvt.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in
                               PyramidVisionTransformer(**TINY).state_dict().items()}}, path)
    with pytest.raises(RuntimeError, match=r'does not fit PVTEMSAv2[\s\S]*stage 1: 8: layers.0.1.1.attn.up'):
        PVTEMSAv2(**TINY, init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()
    ours = PVTEMSAv2(**TINY, init_cfg=dict(type='Pretrained', checkpoint=str(path), strict=False))
    ours.init_weights()
    same = PVTEMSAv2(**TINY)
    torch.save({'state_dict': {'backbone.' + k: v for k, v in ours.state_dict().items()}}, path)
    same.init_cfg = dict(type='Pretrained', checkpoint=str(path))
    same.init_weights()
    for k, v in ours.state_dict().items():
        assert torch.equal(same.state_dict()[k], v), k
