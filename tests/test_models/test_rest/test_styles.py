"""Fine-tuning styles Global / Win / CWin / HWin (paper 5.1, Table 3): equivalences between
styles, large odd inputs (the backbone contract in every style: test_backbone_contract.py)."""
import pytest
import torch

from restv2_mm.models import ResTv2

STYLES = ['global', 'win', 'cwin', 'hwin']


def build(style, **kwargs):
    torch.manual_seed(0)
    model = ResTv2('tiny', style=style, **kwargs)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('style', ['win', 'hwin'])
def test_window_equal_to_map_equals_global(style):
    # 256x256 input: stage maps 64, 32, 16, 8 - divisible by every ratio, one window each.
    ref = build('global')
    model = build(style, window_size=(64, 32, 16, 8))
    model.load_state_dict(ref.state_dict(), strict=True)
    # float64: an equivalence of two computations, independent of the CPU's float32 kernels
    # (float32 reached 0.4 of a 1e-5 tolerance on AVX2).
    x = torch.randn(1, 3, 256, 256, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(ref.double()(x), model.double()(x)):
            assert torch.allclose(a, b, rtol=0, atol=1e-10)


def test_windows_change_the_result_when_smaller_than_the_map():
    ref = build('global')
    model = build('win', window_size=(16, 8, 4, 2))
    model.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        assert not torch.allclose(ref(x)[0], model(x)[0], atol=1e-3)


def test_cwin_at_init_equals_win():
    win = build('win', window_size=(16, 8, 4, 2))
    cwin = build('cwin', window_size=(16, 8, 4, 2))
    missing, unexpected = cwin.load_state_dict(win.state_dict(), strict=False)
    assert sorted(missing) == sorted(f'cwin_conv{i}.{p}' for i in range(1, 5)
                                     for p in ('weight', 'bias'))
    assert not unexpected
    x = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        for a, b in zip(win(x), cwin(x)):
            assert torch.equal(a, b)


@pytest.mark.parametrize('style', ['win', 'hwin'])
def test_global_state_dict_loads_strictly(style):
    """Win and HWin add no parameters: the Global (ImageNet) weights are all they need."""
    source, model = build('global').state_dict(), build(style)
    assert list(model.state_dict()) == list(source)
    result = model.load_state_dict(source, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in model.state_dict().items():
        assert torch.equal(value, source[key]), key


def test_hwin_keeps_last_block_of_each_stage_global():
    model = ResTv2('small', style='hwin')
    for i, ws in enumerate((64, 32, 16, 8)):
        stage = getattr(model, f'stage{i + 1}')
        assert [b.window_size for b in stage] == [ws] * (len(stage) - 1) + [None]
    assert all(b.window_size == 8 for b in ResTv2('tiny', style='win', window_size=8).stage3)


@pytest.mark.parametrize('style', STYLES)
def test_large_odd_input(style):
    model = build(style)
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 800, 1199))
    assert [tuple(o.shape[-2:]) for o in outs] == [(200, 300), (100, 150), (50, 75), (25, 38)]
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('kwargs,words', [
    (dict(style='shifted'), ['style', "'shifted'", 'global']),  # B11
    (dict(style='win', window_size=0), ['window_size', '0']),  # B12
    (dict(style='win', window_size=(64, 32, 16)), ['window_size', '4 positive ints']),
    (dict(style='win', window_size=(64, 32, 16, 7.5)), ['window_size']),
    (dict(style='win', window_size='8'), ['window_size']),
])
def test_bad_style_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        ResTv2('tiny', **kwargs)
    for word in words:
        assert word in str(info.value)
