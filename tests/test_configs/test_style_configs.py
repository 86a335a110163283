"""The four x1 style configs (paper Table 3) build, count parameters as the paper, and train."""
import os.path as osp
import textwrap

import pytest
from mmengine.registry import init_default_scope

from helpers import REPO, load_config, run_tool
from restv2_mm.analysis import count_params

STYLES = ['global', 'win', 'cwin', 'hwin']


def config_path(style):
    return osp.join(REPO, 'configs', 'mmdet', f'mask_rcnn_restv2_t_{style}_1x.py')


def build(style):
    from mmdet.registry import MODELS
    cfg = load_config(config_path(style))
    init_default_scope('mmdet')
    return cfg, MODELS.build(cfg.model)


def test_x1_schedule_and_styles():
    for style in STYLES:
        cfg, model = build(style)
        assert model.backbone.style == style
        assert model.backbone.window_size == (64, 32, 16, 8)
        assert cfg.train_cfg.max_iters == 90000
        step = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR'][0]
        assert step.milestones == [60000, 80000]


def test_parameter_counts_per_style():
    """Paper Table 3(a): Win and HWin add no parameters (49.94M as Global); CWin adds its convs."""
    counts = {style: count_params(build(style)[1]) for style in STYLES}
    assert round(counts['global'] / 1e6, 2) == 49.94
    assert counts['win'] == counts['hwin'] == counts['global']
    # One depth-wise 7x7 conv with bias per stage: (96 + 192 + 384 + 768) * (49 + 1).
    assert counts['cwin'] - counts['global'] == 1440 * 50


@pytest.mark.slow
@pytest.mark.parametrize('style', STYLES)
def test_x1_config_trains_on_real_coco(style, tmp_path, data_root):
    """One iteration of each style's config on the real COCO images (CPU-sized inputs)."""
    cfg_file = tmp_path / f'{style}.py'
    cfg_file.write_text(textwrap.dedent(f'''
        _base_ = [{config_path(style)!r}]
        data_root = {osp.join(data_root, 'coco_mini') + '/'!r}
        train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, dataset=dict(
            data_root=data_root, ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'), pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='Resize', scale=(400, 272), keep_ratio=True),
                dict(type='PackDetInputs')]))
        train_cfg = dict(max_iters=1)
        val_cfg = None
        val_dataloader = None
        val_evaluator = None
        optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                             optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05))
        default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
        # Windows smaller than the maps; random weights on purpose (the recipe requires a checkpoint).
        model = dict(backbone=dict(window_size=(16, 8, 4, 2), init_cfg=dict(required=False)))
    '''))
    log = run_tool(['tools/train.py', cfg_file, '--work-dir', tmp_path / 'w'], timeout=600).output
    assert 'Iter(train) [1/1]' in log
    assert osp.isfile(tmp_path / 'w' / 'iter_1.pth')
