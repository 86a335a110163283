"""Stage-wise / layer-wise lr decay (paper appendix C.2) against hand-computed multipliers."""
import pytest
from mmengine.optim import build_optim_wrapper
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.models import ResTv2


class Segmentor(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.backbone = ResTv2('tiny', **kwargs)
        self.decode_head = nn.Linear(768, 150)


def lrs(model, **paramwise):
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        constructor='ResTv2LearningRateDecayOptimizerConstructor', paramwise_cfg=paramwise))
    return {g['param_name']: (g['lr'], g['weight_decay']) for g in wrapper.optimizer.param_groups}


def test_stage_wise_multipliers():
    got = lrs(Segmentor(), decay_rate=0.9, decay_type='stage_wise', norm_decay_mult=0.)
    # num_layers = 6: stem 0 -> 0.9^5, stage i -> 0.9^(5 - i), neck/heads -> 1.
    want = {
        'backbone.stem.proj.0.weight': 0.9 ** 5,
        'backbone.patch_2.proj.weight': 0.9 ** 3,
        'backbone.stage1.0.attn.q.weight': 0.9 ** 4,
        'backbone.stage3.5.mlp.fc1.weight': 0.9 ** 2,
        'backbone.stage4.1.attn.proj.bias': 0.9 ** 1,
        'backbone.norm0.weight': 0.9 ** 4,
        'backbone.norm3.bias': 0.9 ** 1,
        'decode_head.weight': 1.0,
    }
    for name, lr in want.items():
        assert got[name][0] == pytest.approx(lr), name
    assert got['backbone.norm0.weight'][1] == 0 and got['backbone.stage1.0.norm1.weight'][1] == 0
    assert got['backbone.stage1.0.attn.q.weight'][1] == 0.05
    assert len(got) == sum(1 for _ in Segmentor().parameters())


def test_layer_wise_multipliers():
    got = lrs(Segmentor(), decay_rate=0.5, decay_type='layer_wise')
    # T has 1 + 2 + 6 + 2 = 11 blocks: num_layers = 13; block k (1-based) -> 0.5^(12 - k).
    want = {
        'backbone.stem.norm.weight': 0.5 ** 12,
        'backbone.stage1.0.attn.kv.weight': 0.5 ** 11,
        'backbone.patch_2.pos.pa_conv.weight': 0.5 ** 10,   # with stage 2's first block (k=2)
        'backbone.stage2.1.mlp.fc2.weight': 0.5 ** 9,       # k = 3
        'backbone.stage3.0.attn.q.weight': 0.5 ** 8,        # k = 4
        'backbone.norm2.weight': 0.5 ** 3,                  # with stage 3's last block (k=9)
        'backbone.stage4.1.attn.q.weight': 0.5 ** 1,        # k = 11
        'decode_head.bias': 1.0,
    }
    for name, lr in want.items():
        assert got[name][0] == pytest.approx(lr), name


def test_bad_decay_type_and_model():  # B28
    with pytest.raises(ValueError, match="decay_type must be 'stage_wise' or 'layer_wise'"):
        lrs(Segmentor(), decay_rate=0.9, decay_type='block_wise')
    with pytest.raises(TypeError, match='get_layer_depth'):
        lrs(nn.Sequential(nn.Linear(2, 2)), decay_rate=0.9)


def test_registered_in_each_library():
    import importlib
    for lib in ('mmdet', 'mmseg', 'mmpretrain'):
        reg = importlib.import_module(f'{lib}.registry').OPTIM_WRAPPER_CONSTRUCTORS
        assert reg.get('ResTv2LearningRateDecayOptimizerConstructor') is not None, lib
