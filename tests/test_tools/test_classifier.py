"""mmpretrain classifiers: official checkpoint conversion, get_model, the inferencer, configs."""
import hashlib
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

import restv2_mm  # noqa: F401
from helpers import REPO, load_config, run_tool
from restv2_mm.models import ResTv2

CFG_224 = osp.join(REPO, 'configs/mmpretrain/restv2_t_8xb256_in1k.py')
CFG_384 = osp.join(REPO, 'configs/mmpretrain/restv2_t_8xb64_in1k-384px.py')


@pytest.fixture(scope='module')
def official(tmp_path_factory):
    """A random ResTv2-T classifier saved in the official release's layout."""
    torch.manual_seed(0)
    backbone = ResTv2('tiny', out_indices=(3, ))
    backbone.init_weights()
    for p in backbone.norm3.parameters():  # make the final norm non-trivial
        p.data.normal_()
    head_w, head_b = torch.randn(1000, 768) * 0.02, torch.randn(1000)
    sd = {('norm.' + k[len('norm3.'):] if k.startswith('norm3.') else k): v
          for k, v in backbone.state_dict().items()}
    sd.update({'head.weight': head_w, 'head.bias': head_b})
    path = tmp_path_factory.mktemp('official') / 'restv2_tiny_224.pth'
    torch.save({'model': {'module.' + k: v for k, v in sd.items()}, 'epoch': 299}, path)
    return path, backbone.eval(), head_w, head_b


def reference_logits(backbone, head_w, head_b, x):
    """Direct forward from the same tensors: features, final norm, average pool, linear."""
    with torch.no_grad():
        feat = backbone(x)[-1]                    # (N, 768, h, w), norm3 = official `norm`
        return feat.mean((2, 3)) @ head_w.t() + head_b


@pytest.mark.slow
def test_converter_round_trip(official, tmp_path):
    from mmpretrain import get_model
    src, backbone, head_w, head_b = official
    dst = tmp_path / 'restv2_t_in1k.pth'
    run_tool(['tools/model_converters/convert_official_ckpt.py', src, dst])
    converted = torch.load(dst, map_location='cpu')
    state, meta = converted['state_dict'], converted['meta']
    assert meta['source_file'] == str(src) and meta['weights'] == 'model'
    assert meta['source_sha256'] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta['family'] == 'ResTv2' and meta['converter_version'] == 2
    for cfg in (CFG_224, CFG_384):
        model = get_model(cfg, pretrained=False)
        model.load_state_dict(state, strict=True)  # nothing missing, nothing unexpected
        model.eval()
        size = 384 if '384' in cfg else 224
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            logits = model(x, mode='tensor')
        assert torch.allclose(logits, reference_logits(backbone, head_w, head_b, x), atol=1e-4)


@pytest.mark.slow
def test_get_model_and_inferencer(official, tmp_path, data_root):
    from mmpretrain import ImageClassificationInferencer, get_model
    src, backbone, head_w, head_b = official
    dst = tmp_path / 'converted.pth'
    run_tool(['tools/model_converters/convert_official_ckpt.py', src, dst])
    model = get_model(CFG_224, pretrained=str(dst))
    assert torch.equal(model.head.fc.weight, head_w)
    image = osp.join(data_root, 'imagenet_mini', 'val',
                     open(osp.join(data_root, 'imagenet_mini', 'val.txt')).readline().split()[0])
    # Other tests of the session leave mmseg/mmdet as mmengine's default scope; the inferencer
    # builds its pipeline there (a fresh process, as users run it, has none).
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        result = ImageClassificationInferencer(model=CFG_224, pretrained=str(dst))(image)[0]
    assert 0 <= result['pred_label'] < 1000 and 0 <= result['pred_score'] <= 1


@pytest.mark.slow
def test_converter_refuses_bad_input(tmp_path):  # B27
    mm = tmp_path / 'mm.pth'
    torch.save({'state_dict': {'backbone.stem.norm.weight': torch.ones(96)}}, mm)
    proc = run_tool(['tools/model_converters/convert_official_ckpt.py', mm, tmp_path / 'x.pth'],
                    check=False)
    assert proc.returncode != 0 and 'already in the OpenMMLab layout' in proc.stderr
    assert not (tmp_path / 'x.pth').exists()


def test_recipes():
    """Appendix C.1 (Table 8): pre-training and 384 fine-tuning settings."""
    for arch, dpr in zip('tsbl', (0.1, 0.2, 0.3, 0.5)):
        cfg = load_config(f'configs/mmpretrain/restv2_{arch}_8xb256_in1k.py')
        assert cfg.model.backbone.drop_path_rate == dpr
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1.5e-4 * 2048 / 256)
        assert cfg.train_dataloader.batch_size * 8 == 2048
        assert cfg.optim_wrapper.clip_grad.max_norm == 1.0
        assert [a.type for a in cfg.model.train_cfg.augments] == ['Mixup', 'CutMix']
        assert cfg.custom_hooks[0].momentum == pytest.approx(1e-4)  # EMA 0.9999
        assert cfg.train_cfg.max_epochs == 300 and cfg.param_scheduler[0].end == 50
        ft = load_config(f'configs/mmpretrain/restv2_{arch}_8xb64_in1k-384px.py')
        assert ft.model.backbone.drop_path_rate == dpr
        assert ft.optim_wrapper.optimizer.lr == pytest.approx(1.5e-5 * 512 / 256)
        assert ft.optim_wrapper.optimizer.weight_decay == 1e-8
        assert ft.train_cfg.max_epochs == 30 and not ft.custom_hooks
        assert not ft.model.train_cfg.get('augments')
        assert ft.train_dataloader.dataset.pipeline[1].scale == 384
