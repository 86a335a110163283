"""Every config of ours loads and builds; configs written as an outside project would also work."""
import glob
import os.path as osp
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from helpers import REPO, load_config
from restv2_mm.analysis import count_params

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
SCOPES = {'mmdet': 'mmdet', 'mmseg': 'mmseg', 'mmpretrain': 'mmpretrain'}


def build_model(cfg):
    init_default_scope(cfg.default_scope)
    registry = {'mmdet': 'mmdet.registry', 'mmseg': 'mmseg.registry',
                'mmpretrain': 'mmpretrain.registry'}[cfg.default_scope]
    return __import__(registry, fromlist=['MODELS']).MODELS.build(cfg.model)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_loads_and_builds(path):
    cfg = load_config(path)
    assert cfg.custom_imports == dict(imports=['restv2_mm'], allow_failed_imports=False)
    model = build_model(cfg)
    # mmdet's PVTv2: the side-by-side baseline of the ResTv2 Semantic FPN configs.
    assert type(model.backbone).__name__ in ('ResTv2', 'RMT', 'ResTv1', 'PVTEMSAv2',
                                             'PyramidVisionTransformerV2')


@pytest.mark.parametrize('arch,dpr', [('t', 0.1), ('s', 0.2), ('b', 0.3)])
def test_mask_rcnn_3x_recipe(arch, dpr):
    """Appendix C.2: AdamW 1e-4, wd 0.05, batch 8x2, 270k iters, lr x0.1 at 210k/250k, 480..800."""
    cfg = load_config(f'configs/mmdet/mask_rcnn_restv2_{arch}_3x.py')
    assert cfg.model.backbone.drop_path_rate == dpr
    assert cfg.model.neck.in_channels == [96, 192, 384, 768]
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.train_dataloader.batch_size * 8 == 16
    assert cfg.train_cfg.max_iters == 270000
    step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR'][0]
    assert step.milestones == [210000, 250000] and step.gamma == 0.1
    resize = [t for t in cfg.train_pipeline if t.type == 'RandomChoiceResize'][0]
    assert sorted({s[1] for s in resize.scales})[::len(resize.scales) - 1] == [480, 800]
    assert all(s[0] == 1333 for s in resize.scales)
    assert cfg.model.backbone.init_cfg.checkpoint is None


def test_mask_rcnn_t_parameter_count():
    """Paper Table 3(a): Mask R-CNN with ResTv2-T has 49.94M parameters (Table 4: 49.9M)."""
    model = build_model(load_config('configs/mmdet/mask_rcnn_restv2_t_3x.py'))
    assert round(count_params(model) / 1e6, 2) == 49.94


OUTSIDE = {
    'mmdet': '''
        _base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']
        custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
        default_scope = 'mmdet'
        model = dict(backbone=dict(_delete_=True, type='ResTv2', arch='tiny'),
                     neck=dict(in_channels=[96, 192, 384, 768]))
    ''',
    'mmseg': '''
        _base_ = ['mmseg::_base_/models/upernet_r50.py']
        custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
        default_scope = 'mmseg'
        norm_cfg = dict(type='BN', requires_grad=True)
        model = dict(
            pretrained=None,
            data_preprocessor=dict(size=(128, 128)),
            backbone=dict(_delete_=True, type='ResTv2', arch='tiny'),
            decode_head=dict(in_channels=[96, 192, 384, 768], norm_cfg=norm_cfg),
            auxiliary_head=dict(in_channels=384, norm_cfg=norm_cfg))
    ''',
    'mmpretrain': '''
        _base_ = ['mmpretrain::_base_/models/resnet50.py']
        custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
        default_scope = 'mmpretrain'
        model = dict(backbone=dict(_delete_=True, type='ResTv2', arch='tiny', out_indices=(3, )),
                     head=dict(in_channels=768))
    ''',
}


@pytest.mark.parametrize('lib', sorted(OUTSIDE))
def test_outside_project_config(lib, tmp_path):
    path = tmp_path / f'outside_{lib}.py'
    path.write_text(textwrap.dedent(OUTSIDE[lib]))
    cfg = Config.fromfile(str(path))
    model = build_model(cfg).eval()
    x = torch.rand(1, 3, 128, 128) * 255
    with torch.no_grad():
        if lib == 'mmpretrain':
            out = model(x, mode='tensor')
            assert out.shape == (1, 1000)
        elif lib == 'mmseg':
            out = model(x, mode='tensor')
            assert out.shape == (1, 19, 32, 32)  # the base's 19 Cityscapes classes
        else:
            feats = model.extract_feat(x)
            assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
