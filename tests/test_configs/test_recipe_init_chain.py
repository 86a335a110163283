"""Initialisation from scratch and the checkpoint chain ImageNet-224 -> 384 / COCO / ADE20K:
which weights (EMA or not) each step takes, from official and from mmengine runner checkpoints.

Rows R-IN224-24, R-IN224-26..28 and R-IN384-19..20 of docs/recipes.md. The official facts used:
models/rest_v2.py _init_weights; utils.save_model ({'model': raw, 'model_ema': EMA}); main.py
--finetune with --model_key model|module; convert_to_d2.py (["model"]); appendix C.1/C.2."""
import copy

import pytest
import torch
from torch import nn

import restv2_mm  # noqa: F401
from restv2_mm.models import ResTv2

CFG_224 = 'mmpretrain/restv2_t_8xb256_in1k.py'
CFG_384 = 'mmpretrain/restv2_t_8xb64_in1k-384px.py'


@pytest.mark.parametrize('style', ['global', 'cwin'])
def test_backbone_init_from_scratch_is_the_official_one(style):
    # R-IN224-24
    torch.manual_seed(0)
    model = ResTv2('tiny', style=style)
    model.init_weights()
    # models/rest_v2.py _init_weights: trunc_normal_(std=.02) on every Conv2d and Linear weight
    # (timm truncates at +-2, i.e. +-100 std: a plain normal), biases 0; LayerNorm and
    # BatchNorm2d weight 1, bias 0.
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if name.startswith('cwin_conv'):  # ours only: CWin starts equal to Win (zero)
                assert torch.count_nonzero(m.weight) == 0
                continue
            w = m.weight.detach().flatten()
            assert float(w.abs().max()) <= 2.0, name
            # Inverse-CDF sampling puts a rare draw exactly on a bound (+-2): leave those out.
            w = w[w.abs() < 2.0]
            tol = 0.1 if w.numel() >= 1000 else 0.3
            assert abs(float(w.std()) / 0.02 - 1) < tol, (name, float(w.std()))
            assert abs(float(w.mean())) < 0.005, name
            if m.bias is not None:
                assert torch.count_nonzero(m.bias) == 0, name
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
            assert torch.all(m.weight == 1) and torch.count_nonzero(m.bias) == 0, name


class _Runner:
    """What EMAHook reads from a runner."""

    def __init__(self, model):
        self.model, self.iter, self.epoch = model, 0, 0


@pytest.fixture(scope='module')
def runner_checkpoint(build_model, load_config, tmp_path_factory):
    """A 224 classifier trained a few "steps" under the config's EMAHook, saved as mmengine's
    CheckpointHook would: returns (path, raw state dict, EMA state dict)."""
    from mmengine.registry import HOOKS
    torch.manual_seed(0)
    cfg = load_config(CFG_224)
    model = build_model(cfg)
    hook_cfg = dict(cfg.custom_hooks[0])
    hook_cfg.pop('priority', None)
    hook = HOOKS.build(hook_cfg)
    runner = _Runner(model)
    hook.before_run(runner)
    for step in range(3):  # three "optimizer steps", each moving every weight
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        runner.iter = step
        hook.after_train_iter(runner, step)
    raw = copy.deepcopy(model.state_dict())
    ema = copy.deepcopy(hook.ema_model.module.state_dict())
    checkpoint = {'meta': {}, 'state_dict': model.state_dict()}
    hook.before_save_checkpoint(runner, checkpoint)
    path = tmp_path_factory.mktemp('runner') / 'epoch_300.pth'
    torch.save(checkpoint, path)
    return path, raw, ema


def test_ema_hook_checkpoint_layout(runner_checkpoint):
    # R-IN224-26
    path, raw, ema = runner_checkpoint
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    # mmengine 0.10.7 EMAHook.before_save_checkpoint: 'state_dict' holds the EMA weights,
    # 'ema_state_dict' the raw (trained) ones under 'module.' + key, plus the step counter.
    name = 'backbone.stage1.0.attn.q.weight'
    assert not torch.equal(raw[name], ema[name])
    assert torch.equal(ckpt['state_dict'][name], ema[name])
    assert torch.equal(ckpt['ema_state_dict']['module.' + name], raw[name])
    assert 'steps' in ckpt['ema_state_dict']
    assert torch.equal(ckpt['state_dict']['backbone.stem.proj.1.running_mean'],
                       ema['backbone.stem.proj.1.running_mean'])  # buffers averaged too


def official_checkpoint(raw, ema, path):
    """The release's layout (utils.save_model): {'model': ..., 'model_ema': ...}, official key
    names (final norm 'norm', head 'head.weight'), DDP's 'module.' prefix."""
    def official(sd):
        out = {}
        for k, v in sd.items():
            if k.startswith('backbone.'):
                k = k[len('backbone.'):]
                k = 'norm.' + k[len('norm3.'):] if k.startswith('norm3.') else k
            elif k.startswith('head.fc.'):
                k = 'head.' + k[len('head.fc.'):]
            out['module.' + k] = v
        return out
    torch.save({'model': official(raw), 'model_ema': official(ema), 'epoch': 'best'}, path)
    return path


def loaded_backbone(path, weights):
    backbone = ResTv2('tiny', out_indices=(3, ), init_cfg=dict(
        type='Pretrained', checkpoint=str(path), weights=weights, required=True))
    backbone.init_weights()
    return backbone.state_dict()


@pytest.mark.parametrize('layout', ['runner', 'official'])
def test_downstream_takes_the_non_ema_weights(runner_checkpoint, tmp_path, layout):
    # R-IN224-27 R-IN224-28
    path, raw, ema = runner_checkpoint
    if layout == 'official':
        path = official_checkpoint(raw, ema, tmp_path / 'restv2_tiny_224.pth')
    name = 'stage3.2.mlp.fc1.weight'
    assert torch.equal(loaded_backbone(path, 'model')[name], raw['backbone.' + name])
    assert torch.equal(loaded_backbone(path, 'ema')[name], ema['backbone.' + name])


def test_finetuning_384_starts_from_the_224_model(build_model, load_config, runner_checkpoint):
    # R-IN384-20
    path, raw, _ = runner_checkpoint
    model = build_model(load_config(CFG_384, **{
        'model.backbone.init_cfg.checkpoint': str(path),
        'model.head.init_cfg.checkpoint': str(path)}))
    model.init_weights()
    sd = model.state_dict()
    for name in ('backbone.stem.proj.0.weight', 'backbone.stage4.1.attn.kv.weight',
                 'backbone.norm3.weight', 'head.fc.weight', 'head.fc.bias'):
        assert torch.equal(sd[name], raw[name]), name


def test_finetuning_384_refuses_random_init(build_model, load_config):
    # R-IN384-19
    model = build_model(load_config(CFG_384))
    with pytest.raises(ValueError, match='checkpoint'):
        model.init_weights()
    # The documented opt-out: required=False in both init_cfg.
    model = build_model(load_config(CFG_384, **{
        'model.backbone.init_cfg.required': False, 'model.head.init_cfg.required': False}))
    model.init_weights()
