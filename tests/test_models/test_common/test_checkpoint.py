"""Loading official-layout checkpoints (github.com/wofmanaf/ResT) into ResTv2."""
import io
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from restv2_mm.models import ResTv2


def official_layout(model: ResTv2) -> dict:
    """Rename our state dict to the official release's layout (shared/papers/README.md):
    a final ``norm`` instead of the per-output norms, a ``head``, everything under ``model``
    with DataParallel's ``module.`` prefix."""
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith(('norm0.', 'norm1.', 'norm2.')):
            continue
        if k.startswith('norm3.'):
            k = 'norm.' + k[len('norm3.'):]
        sd['module.' + k] = v.clone()
    sd['module.head.weight'] = torch.randn(1000, 768)
    sd['module.head.bias'] = torch.randn(1000)
    return {'model': sd, 'epoch': 299}


def test_official_checkpoint_loads_with_only_output_norms_missing(tmp_path):
    src = ResTv2('tiny')
    src.init_weights()
    path = tmp_path / 'restv2_tiny_224.pth'
    torch.save(official_layout(src), path)

    dst = ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    from restv2_mm.models.common import load_pretrained
    result = load_pretrained(dst, str(path))
    assert sorted(result['missing_keys']) == sorted(
        f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias'))
    assert result['unexpected_keys'] == []  # the classifier head is dropped, norm -> norm3
    dst.init_weights()
    for k, v in src.state_dict().items():
        if not k.startswith(('norm0', 'norm1', 'norm2')):
            assert torch.equal(v, dst.state_dict()[k]), k


def test_plain_state_dict_and_backbone_prefix(tmp_path):
    src = ResTv2('tiny', out_indices=(3, ))
    plain = tmp_path / 'plain.pth'
    torch.save({k: v for k, v in src.state_dict().items()}, plain)
    mm = tmp_path / 'mm.pth'
    torch.save({'state_dict': {'backbone.' + k: v for k, v in src.state_dict().items()},
                'meta': {}}, mm)
    for path in (plain, mm):
        dst = ResTv2('tiny', out_indices=(3, ), init_cfg=dict(type='Pretrained', checkpoint=str(path)))
        dst.init_weights()
        for k, v in src.state_dict().items():
            assert torch.equal(v, dst.state_dict()[k]), (path, k)


def test_shape_mismatch_names_key_and_shapes(tmp_path):  # B22
    path = tmp_path / 'large.pth'
    torch.save({'model': ResTv2('large', out_indices=(3, )).state_dict()}, path)
    dst = ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(RuntimeError) as info:
        dst.init_weights()
    msg = str(info.value)
    assert 'stem.proj.0.weight: checkpoint (64, 3, 3, 3) vs model (48, 3, 3, 3)' in msg
    assert str(path) in msg


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):  # B19
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'nope.pth'))
               ).init_weights()
    src = tmp_path / 'full.pth'
    torch.save({'model': ResTv2('tiny').state_dict()}, src)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(src.read_bytes()[:4096])  # B20
    with pytest.raises(RuntimeError, match='not a readable torch checkpoint'):
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(cut))).init_weights()
    text = tmp_path / 'notes.txt'
    text.write_text('hello')  # B21
    with pytest.raises(RuntimeError, match='not a readable torch checkpoint'):
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(text))).init_weights()


def test_unset_checkpoint_logs_random_init():
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=None)).init_weights()
    finally:
        logger.removeHandler(handler)
    assert 'no pretrained checkpoint given' in stream.getvalue()


def test_required_checkpoint_and_weight_sets(tmp_path):
    """``required=True`` refuses to start from random (B33); ``weights`` picks the raw or the EMA
    weights of each layout the docs list, and asks for an EMA only where there is one (B34)."""
    with pytest.raises(ValueError, match='model.backbone.init_cfg.checkpoint is not set'):  # B33
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=None, required=True)
               ).init_weights()
    raw, ema = ResTv2('tiny').state_dict(), ResTv2('tiny').state_dict()
    key = 'stem.norm.weight'
    raw[key], ema[key] = torch.full((96, ), 1.), torch.full((96, ), 2.)
    layouts = {  # what the official release and mmengine's EMAHook write
        'official.pth': {'model': raw, 'model_ema': ema, 'args': None},
        'runner.pth': {'state_dict': {'backbone.' + k: v for k, v in ema.items()},
                       'ema_state_dict': {'module.backbone.' + k: v for k, v in raw.items()}
                       | {'steps': torch.tensor(3)}},
    }
    for name, ckpt in layouts.items():
        torch.save(ckpt, tmp_path / name)
        for weights, value in (('model', 1.), ('ema', 2.)):
            dst = ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / name),
                                               weights=weights))
            dst.init_weights()
            assert torch.all(dst.state_dict()[key] == value), (name, weights)
    torch.save({'state_dict': raw}, tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match="weights='ema', but the checkpoint holds no EMA"):  # B34
        ResTv2('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'plain.pth'),
                                     weights='ema')).init_weights()


# ----------------------------------------------------------------------------- fit to the model
def _layouts(state: dict, official: dict) -> dict:
    """One backbone's weights in every layout ``init_cfg`` Pretrained reads, with the weights set
    to ask for: (checkpoint, weights)."""
    return {
        'plain': (state, 'model'),
        'official raw': ({'model': official, 'model_ema': official}, 'model'),
        'official EMA': ({'model': official, 'model_ema': official}, 'ema'),
        'converted': ({'state_dict': {'backbone.' + k: v for k, v in state.items()}
                       | {'head.fc.weight': torch.zeros(3, 8)}, 'meta': {}}, 'model'),
        'runner EMA': ({'state_dict': {'backbone.' + k: v for k, v in state.items()},
                        'ema_state_dict': {'module.backbone.' + k: v for k, v in state.items()}},
                       'ema'),
        'runner raw': ({'state_dict': {'backbone.' + k: v for k, v in state.items()},
                        'ema_state_dict': {'module.backbone.' + k: v for k, v in state.items()}},
                       'model'),
    }


def _load(model, tmp_path, checkpoint, **cfg):
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    model.init_cfg = dict(type='Pretrained', checkpoint=str(path), **cfg)
    model.init_weights()
    return str(path)


def test_deeper_checkpoint_is_refused_in_every_layout(tmp_path):  # B60
    """ResTv2-S into ResTv2-T: the six extra stage-3 blocks are named, grouped by stage, with the
    arch the checkpoint has and the way to load it anyway."""
    src = ResTv2('small').state_dict()
    official = official_layout_of(ResTv2('small'))
    for name, (checkpoint, weights) in _layouts(src, official).items():
        with pytest.raises(RuntimeError) as info:
            _load(ResTv2('tiny'), tmp_path, checkpoint, weights=weights)
        msg = str(info.value)
        assert "does not fit ResTv2 (arch='tiny')" in msg, name
        assert 'in the checkpoint, not in the model (132):' in msg, name
        assert 'stage 3: 132: stage3.6.' in msg, name
        assert "arch='small'" in msg and 'strict=False' in msg and 'ckpt.pth' in msg, name


@pytest.mark.parametrize('src,dst,where,hint', [
    (('ResTv2', 'tiny'), ('ResTv2', 'small'), 'in the model, not in the checkpoint (132):',
     "arch='tiny'"),  # B61
    (('ResTv2', 'large'), ('ResTv2', 'base'), 'shape mismatches (', "arch='large'"),  # B62
    (('RMT', 'tiny'), ('RMT', 'small'), 'in the model, not in the checkpoint', "arch='tiny'"),  # B63
    (('ResTv2', 'tiny'), ('ResTv1', 'lite'), 'shape mismatches (', 'which no arch of ResTv1 has'),  # B64
])
def test_checkpoint_of_another_arch_is_refused(tmp_path, src, dst, where, hint):
    import restv2_mm.models as models
    state = getattr(models, src[0])(src[1]).state_dict()
    model = getattr(models, dst[0])(dst[1])
    with pytest.raises(RuntimeError) as info:
        _load(model, tmp_path, {'state_dict': {'backbone.' + k: v for k, v in state.items()}})
    msg = str(info.value)
    assert f'does not fit {dst[0]} (arch={dst[1]!r})' in msg
    assert where in msg and hint in msg
    assert ('strict=False' in msg) != ('no tensor of it fits' in msg)  # what to do


def official_layout_of(model) -> dict:
    return {k['module.'.__len__():]: v for k, v in official_layout(model)['model'].items()}


def test_classifier_checkpoints_load_into_detector_backbones(tmp_path):  # B65
    """The documented extras: a classifier's head (official and mmpretrain) and the output norms
    a classifier lacks load without error into a four-output backbone."""
    from restv2_mm.models import RMT
    cls = ResTv2('tiny', out_indices=(3, ))
    mm = {'state_dict': {'backbone.' + k: v for k, v in cls.state_dict().items()}
          | {'head.fc.weight': torch.zeros(1000, 768), 'head.fc.bias': torch.zeros(1000)}}
    for checkpoint in (mm, official_layout(ResTv2('tiny'))):
        model = ResTv2('tiny', style='cwin')  # CWin's new convs are documented as optional
        _load(model, tmp_path, checkpoint)
        assert torch.equal(model.stage3[5].attn.q.weight,
                           cls.stage3[5].attn.q.weight if checkpoint is mm else
                           checkpoint['model']['module.stage3.5.attn.q.weight'])
    # The official RMT classifier: proj, its BatchNorm and the head, and no output norms.
    det = RMT('tiny', out_norm_cfg=None).state_dict()
    official = dict(det, **{'proj.weight': torch.zeros(1024, 512, 1, 1), 'norm.weight': torch.ones(1024),
                            'head.weight': torch.zeros(1000, 1024)})
    model = RMT('tiny')
    _load(model, tmp_path, {'model': official})
    assert torch.equal(model.layers[2].blocks[7].ffn.fc1.weight, det['layers.2.blocks.7.ffn.fc1.weight'])


def test_strict_false_loads_what_fits_and_says_so_per_stage(tmp_path):  # B66
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    src = ResTv2('small')
    try:
        model = ResTv2('tiny')
        _load(model, tmp_path, {'model': src.state_dict()}, strict=False)
    finally:
        logger.removeHandler(handler)
    log = stream.getvalue()
    assert 'strict=False' in log and 'stage 3: 132: stage3.6.' in log
    assert 'per stage (loaded / left at init): stem ' in log
    own = model.state_dict()
    for k, v in own.items():
        assert torch.equal(v, src.state_dict()[k]), k
    with pytest.raises(TypeError, match='strict must be True or False'):
        _load(ResTv2('tiny'), tmp_path, {'model': src.state_dict()}, strict='no')
