"""The ablation configs: the paper's 100-epoch recipe (ResTv2 4.3) and one row each in
docs/ablations.md; the ResTv1 configs."""
import glob
import os.path as osp

import pytest

from helpers import REPO, load_config

ABLATIONS = sorted(glob.glob(osp.join(REPO, 'configs', 'mmpretrain', 'ablations', '*.py')))
RECIPE = osp.join(REPO, 'configs', 'mmpretrain', 'restv2_t_8xb256_in1k.py')


@pytest.fixture(scope='module')
def base():
    return load_config(RECIPE)


@pytest.mark.parametrize('path', ABLATIONS, ids=osp.basename)
def test_ablation_recipe_is_100_epochs_with_10_warmup_otherwise_the_300_epoch_one(path, base):
    """Section 4.3: "trained for 100 epochs, and 10 of them are applied for linear warm-up, with
    other settings unchanged"."""
    cfg = load_config(path)
    assert cfg.train_cfg.max_epochs == 100
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end, warmup.by_epoch) == ('LinearLR', 10, True)
    assert (cosine.type, cosine.begin, cosine.end) == ('CosineAnnealingLR', 10, 100)
    assert warmup.start_factor == base.param_scheduler[0].start_factor
    assert cosine.eta_min == base.param_scheduler[1].eta_min
    for key in ('optim_wrapper', 'train_dataloader', 'val_dataloader', 'custom_hooks',
                'auto_scale_lr', 'data_preprocessor'):
        assert cfg[key] == base[key], key
    for key in ('neck', 'train_cfg', 'init_cfg'):
        assert cfg.model[key] == base.model[key], key
    assert {k: v for k, v in cfg.model.head.items() if k != 'in_channels'} == \
        {k: v for k, v in base.model.head.items() if k != 'in_channels'}
    assert cfg.model.backbone.drop_path_rate == 0.1 and cfg.model.backbone.out_indices == (3, )


def test_every_ablation_config_has_a_row_in_the_docs():
    doc = open(osp.join(REPO, 'docs', 'ablations.md')).read()
    for path in ABLATIONS:
        assert f'configs/mmpretrain/ablations/{osp.basename(path)}' in doc, path


@pytest.mark.parametrize('arch,channels', [('lite', 512), ('s', 512), ('b', 768), ('l', 768)])
def test_restv1_configs(arch, channels, base):
    cfg = load_config(f'configs/mmpretrain/restv1_{arch}_8xb256_in1k.py')
    assert cfg.model.backbone.type == 'ResTv1' and cfg.model.head.in_channels == channels
    assert cfg.model.backbone.arch == {'lite': 'lite', 's': 'small', 'b': 'base', 'l': 'large'}[arch]
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'custom_hooks'):
        assert cfg[key] == base[key], key
