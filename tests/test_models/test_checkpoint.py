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
    from restv2_mm.models.utils import load_pretrained
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
