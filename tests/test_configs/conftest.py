"""Helpers of the recipe tests: load a config, build its model, see what its optimizer and lr
schedulers really do, read the official RMT release."""
import importlib
import os
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope, init_default_scope

import helpers
import restv2_mm  # noqa: F401


def _optimizer_settings(model, optim_wrapper):
    """{parameter name: (lr, weight decay)} from the optimizer ``optim_wrapper`` builds for
    ``model`` (an AmpOptimWrapper is adapted as tools/train.py adapts it: fp32 on the CPU)."""
    from mmengine.config import ConfigDict
    from mmengine.optim import build_optim_wrapper

    from restv2_mm.cli.config import resolve_amp
    cfg = ConfigDict(optim_wrapper)
    if cfg.get('type') == 'AmpOptimWrapper':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            resolve_amp(cfg)
    groups = build_optim_wrapper(model, cfg).optimizer.param_groups
    by_id = {id(p): (g['lr'], g['weight_decay']) for g in groups for p in g['params']}
    return {n: by_id[id(p)] for n, p in model.named_parameters()}


def _lr_curve(param_scheduler, base_lr, iters, epoch_length=1):
    """The lr of each of ``iters`` iterations as mmengine's schedulers set it (``epoch_length``
    iterations an epoch for the epoch-based ones)."""
    from mmengine.registry import PARAM_SCHEDULERS
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    scheds = [PARAM_SCHEDULERS.build(dict(s), default_args=dict(optimizer=opt,
                                                                epoch_length=epoch_length))
              for s in param_scheduler]
    lrs = []
    for _ in range(iters):
        lrs.append(opt.param_groups[0]['lr'])
        for s in scheds:
            s.step()
    return np.array(lrs)


def _build_model(cfg):
    """The model of ``cfg``, built in its library's registry (``default_scope``)."""
    init_default_scope(cfg.default_scope)
    return importlib.import_module(f'{cfg.default_scope}.registry').MODELS.build(cfg.model)


@pytest.fixture(autouse=True)
def _keep_default_scope():
    """The tests here set mmengine's default scope (mmdet, mmseg, mmpretrain); restore it after
    each, so that the tests that follow build in the scope they expect."""
    with DefaultScope.overwrite_default_scope('mmengine'):
        yield


@pytest.fixture(scope='session')
def load_config(repo_root):
    """``load_config('mmseg/NAME.py', **options)``: a config under configs/, options merged."""
    return lambda path, **options: helpers.load_config(osp.join(repo_root, 'configs', path), **options)


@pytest.fixture(scope='session')
def build_model():
    return _build_model


@pytest.fixture(scope='session')
def optimizer_settings():
    return _optimizer_settings


@pytest.fixture(scope='session')
def lr_curve():
    return _lr_curve


@pytest.fixture(scope='session')
def official_rmt():
    """The official RMT release (github.com/qhfan/RMT) named by ``$RESTV2_OFFICIAL_RMT``: its
    configs, scripts and training logs; the test is skipped without it."""
    root = os.environ.get('RESTV2_OFFICIAL_RMT')
    if not root:
        pytest.skip('$RESTV2_OFFICIAL_RMT is not set (a checkout of github.com/qhfan/RMT)')
    return root
