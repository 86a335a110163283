"""Every bad argument or input of the backbone raises an error that names it."""
import pytest
import torch

from restv2_mm.models import RMT, ResTv1, ResTv2
from restv2_mm.models.common.input_check import size_rules


@pytest.mark.parametrize('kwargs,exc,words', [
    (dict(arch='huge'), ValueError, ['arch', "'huge'", 'tiny']),  # B08
    (dict(arch=dict(embed_dims=[64] * 4, depths=[1] * 4, num_heads=[1] * 4)), ValueError,
     ['arch', 'sr_ratios']),  # B09
    (dict(arch=dict(embed_dims=[64] * 3, depths=[1] * 4, num_heads=[1] * 4, sr_ratios=[1] * 4)),
     ValueError, ["arch['embed_dims']", '4 positive ints']),  # B09
    (dict(arch=dict(embed_dims=[64] * 4, depths=[1] * 4, num_heads=[3] * 4, sr_ratios=[1] * 4)),
     ValueError, ['embed_dims', 'num_heads', 'divisible']),  # B10
    (dict(arch=3), TypeError, ['arch', 'int']),
    (dict(out_indices=(4, )), ValueError, ['out_indices', '0..3', '(4,)']),  # B13
    (dict(out_indices=(0, 0)), ValueError, ['out_indices', 'duplicates']),  # B13
    (dict(out_indices=()), TypeError, ['out_indices']),
    (dict(out_indices=(1.0, )), TypeError, ['out_indices']),
    (dict(frozen_stages=5), ValueError, ['frozen_stages', '[-1, 4]', '5']),  # B14
    (dict(frozen_stages=-2), ValueError, ['frozen_stages', '-2']),
    (dict(in_channels=0), ValueError, ['in_channels', '0']),  # B16
    (dict(drop_path_rate=1.5), ValueError, ['drop_path_rate', '1.5']),  # B15
    (dict(norm_cfg=dict(type='SyncBN')), ValueError, ['norm_cfg', 'conv_norm_cfg', 'LayerNorm']),  # B35
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        ResTv2(**kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


# Narrow archs (16..128 channels, one block a stage): the checks do not depend on the width.
NARROW = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
              sr_ratios=[8, 4, 2, 1])
NARROW_RMT = dict(NARROW, num_heads=[1, 1, 2, 4], mlp_ratios=[3] * 4, init_values=[2] * 4,
                  heads_ranges=[4] * 4, chunkwise_recurrents=[True, True, False, False],
                  layerscales=[False] * 4)
NARROW_RMT.pop('sr_ratios')


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_cast_as_the_data_preprocessors_do(dtype):  # B69
    model = ResTv2(NARROW, out_indices=(0, 3)).eval()
    x = torch.randn(1, 3, 64, 64)
    with pytest.warns(UserWarning, match=f'{dtype} but the weights are torch.float32: cast'):
        outs = model(x.to(dtype))
    expected = model(x.to(dtype).float())  # what mmengine's ImgDataPreprocessor does: .float()
    for out, ref in zip(outs, expected):
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, ref, rtol=0, atol=0)


@pytest.mark.parametrize('make,mode,shape,words', [
    # ResTv1's multi-head interaction (mhim) normalises each attention map over the positions.
    (lambda: ResTv1('lite'), 'eval', (1, 3, 16, 16),
     ['ResTv1 input x of 16x16 is too small', 'stage 4 (stride 32)', '1x1 map', 'InstanceNorm',
      'H or W > 32']),  # B70
    (lambda: ResTv1(NARROW), 'eval', (2, 3, 32, 32), ['stage 4 (stride 32)']),  # B70
    (lambda: ResTv2(NARROW, mhim=True), 'eval', (1, 3, 20, 9), ['ResTv2', 'mhim']),  # B70
    # A BatchNorm in training mode with one value per channel (one image, one position).
    (lambda: ResTv1(NARROW, mhim=False), 'train', (1, 3, 32, 16),
     ['stage 4 (stride 32)', 'BatchNorm in training mode', 'N >= 2', 'norm_eval=True']),  # B71
    (lambda: ResTv2(NARROW), 'train', (1, 3, 3, 3), ['stem (stride 4)', 'BatchNorm']),  # B71
    (lambda: RMT(NARROW_RMT), 'train', (1, 3, 32, 32), ['RMT', 'stage 4 (stride 32)']),  # B71
])
def test_too_small_inputs_name_the_smallest_size(make, mode, shape, words):
    model = getattr(make(), mode)()
    with pytest.raises(ValueError) as info:
        model(torch.randn(*shape))
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize('make,mode,shape', [
    (lambda: ResTv1(NARROW), 'eval', (1, 3, 33, 1)),  # two positions at stride 32
    (lambda: ResTv1(NARROW), 'train', (2, 3, 33, 16)),
    (lambda: ResTv1(NARROW, mhim=False, frozen_stages=4), 'train', (1, 3, 32, 16)),  # BNs in eval
    (lambda: ResTv1(NARROW, mhim=False, norm_eval=True), 'train', (1, 3, 32, 16)),
    (lambda: ResTv2(NARROW), 'eval', (1, 3, 1, 1)),  # no layer needs two values
    (lambda: ResTv2(NARROW), 'train', (2, 3, 3, 3)),
    (lambda: RMT(NARROW_RMT), 'eval', (1, 3, 1, 1)),
])
def test_the_smallest_sizes_run(make, mode, shape):
    """The limits are the layers' own: just above them the model runs (torch's own checks pass)."""
    outs = getattr(make(), mode)()(torch.randn(*shape))
    assert all(torch.isfinite(o).all() for o in outs)


def test_size_is_checked_when_traced():  # B70: FLOP counting (analyze_flops) traces the model
    with pytest.raises(ValueError, match='ResTv1 input x of 16x16 is too small'):
        torch.jit.trace(ResTv1(NARROW).eval(), torch.randn(1, 3, 16, 16), check_trace=False)


def test_syncbn_counts_the_values_of_every_process():
    """SyncBN normalises over every process's batch: one image per process can be enough."""
    model = ResTv1(NARROW, mhim=False, conv_norm_cfg=dict(type='SyncBN')).train()
    assert size_rules(model) == []
    assert [r.stride for r in size_rules(ResTv1(NARROW, mhim=False).train())] == [32]


def test_non_finite_checkpoint_weights_are_refused(tmp_path):  # B72
    state = ResTv2(NARROW).state_dict()
    state['stem.proj.0.weight'][0, 0, 0, 0] = float('inf')
    state['stage2.0.attn.q.weight'][:2, 0] = float('nan')
    path = str(tmp_path / 'diverged.pth')
    torch.save({'state_dict': {'backbone.' + k: v for k, v in state.items()}}, path)
    for strict in (True, False):  # strict is about keys and shapes: NaN is refused either way
        model = ResTv2(NARROW, init_cfg=dict(type='Pretrained', checkpoint=path, strict=strict))
        with pytest.raises(ValueError) as info:
            model.init_weights()
        msg = str(info.value)
        assert (f'holds NaN/Inf in 2 of the {len(state)} tensors that would load into ResTv2 '
                "(arch='custom')") in msg
        assert 'stem: 1: stem.proj.0.weight' in msg and 'stage 2: 1: stage2.0.attn.q.weight' in msg
        assert 'stage2.0.attn.q.weight (2 NaN, 0 Inf)' in msg and 'allow_non_finite=True' in msg
        assert torch.isfinite(model.stage2[0].attn.q.weight).all()  # nothing was loaded
    model = ResTv2(NARROW, init_cfg=dict(type='Pretrained', checkpoint=path, allow_non_finite=True))
    model.init_weights()  # the documented opt-out
    assert torch.isnan(model.stage2[0].attn.q.weight).sum() == 2


@pytest.mark.mmcv_ops
@pytest.mark.parametrize('up_target,size,words', [
    # Patch embeddings and spatial reductions of kernel = stride, without padding.
    ('none', (16, 64), ['16x64 does not fit', 'spatial reduction of stage 1 (sr_ratio 8', 'along H',
                        'the smallest H that fits is 32']),
    # The upsampling branch restores sr_ratio x the reduced map: the stage's side must divide.
    ('v', (64, 72), ['upsampling branch of stage 1', '18 positions', 'along W',
                     'the nearest W that fit are 67 and 96']),
])
def test_pvt_emsav2_names_the_sizes_it_takes(up_target, size, words):  # B73
    from restv2_mm.models import PVTEMSAv2
    model = PVTEMSAv2(up_target=up_target, num_layers=[1, 1, 1, 1], embed_dims=16).eval()
    with pytest.raises(ValueError) as info:
        model(torch.randn(1, 3, *size))
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    # The sizes the message names run; PVT itself (up_target='none') takes any side >= 32.
    model(torch.randn(1, 3, 32, 96) if up_target == 'none' else torch.randn(1, 3, 67, 96))
    with pytest.warns(UserWarning, match='cast to torch.float32'):  # B69
        assert model(torch.randn(1, 3, 64, 64).half())[0].dtype == torch.float32
