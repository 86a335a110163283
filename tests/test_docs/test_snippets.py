"""The Python snippets of README.md and docs/get_started.md run as written, in a new user's working
directory: the official ImageNet checkpoint ``restv2_tiny_224.pth`` (the release's layout, random
weights), the classifier README's converter command makes of it, an image, and the configs. A config
snippet is built on the stock config it names, loads the checkpoint and runs; README's training
command hands ``pretrained`` to the backbone through tools/train.py's own config loading."""
import glob
import importlib
import os
import os.path as osp
import re
import shlex
import shutil
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope, init_default_scope

from helpers import DATA, REPO, load_tool, logged
from restv2_mm.models import ResTv2

PAGES = ['README.md', 'docs/get_started.md']
SNIPPET = re.compile(r'```python\n(.*?)```', re.S)
STOCK_BASE = re.compile(r"^_base_ = '(mmdet|mmseg|mmpretrain)::[\w./-]+'$", re.M)


def read(page):
    with open(osp.join(REPO, page)) as f:
        return f.read()


def readme_command(pattern):
    """The one README command line that matches ``pattern``, split as the shell would."""
    lines = [line for line in read('README.md').splitlines() if re.match(pattern, line)]
    assert len(lines) == 1, f'README.md: {len(lines)} lines match {pattern!r}'
    return shlex.split(lines[0].split('  #')[0])


def snippets():
    """Each distinct snippet once (README repeats one of get_started's), named by its first place."""
    seen = set()
    for page in PAGES:
        for i, code in enumerate(SNIPPET.findall(read(page))):
            if code not in seen:
                seen.add(code)
                yield pytest.param(page, code, id=f'{page}#{i + 1}')


@pytest.fixture(scope='module')
def user_dir(tmp_path_factory):
    """(folder, the backbone's weights in our names): the release's ``restv2_tiny_224.pth``
    ({'model': ...}, the classifier's single output norm named ``norm``, its ``head``), README's
    conversion of it, ``demo.jpg`` and ``configs/``."""
    folder = tmp_path_factory.mktemp('user')
    torch.manual_seed(1)
    backbone = ResTv2('tiny', out_indices=(3, )).state_dict()
    official = {('norm.' + k[len('norm3.'):] if k.startswith('norm3.') else k): v
                for k, v in backbone.items()}
    official.update({'head.weight': torch.randn(1000, 768) * 0.02, 'head.bias': torch.zeros(1000)})
    torch.save({'model': official}, folder / 'restv2_tiny_224.pth')
    os.symlink(osp.join(REPO, 'configs'), folder / 'configs')
    image = sorted(glob.glob(osp.join(DATA, 'imagenet_mini', 'val', '*.JPEG')))[0]
    shutil.copyfile(image, folder / 'demo.jpg')
    command = readme_command(r'python tools/model_converters/convert_official_ckpt\.py ')
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        load_tool(command[1]).main(command[2:])
    finally:
        os.chdir(cwd)
    return folder, backbone


def test_every_page_has_snippets():
    found = [p.values[0] for p in snippets()]
    # README: the mmdet config (also in get_started) and the inferencer; get_started: mmseg, mmpretrain.
    assert found.count('README.md') == 2 and found.count('docs/get_started.md') == 2


@pytest.mark.slow
@pytest.mark.parametrize('page,code', list(snippets()))
def test_snippet_runs_as_written(page, code, user_dir, monkeypatch, capsys):
    folder, backbone = user_dir
    monkeypatch.chdir(folder)
    # As in a new Python process: no default scope (mmpretrain's inferencer relies on that).
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    if 'custom_imports' not in code:  # Python to run, e.g. the inferencer
        exec(compile(code, page, 'exec'), {})
        assert capsys.readouterr().out.strip()
        return
    base = STOCK_BASE.search(code)
    assert base, f"{page}: a config snippet starts from a stock config (_base_ = 'mmdet::...')"
    scope = base.group(1)
    (folder / 'snippet.py').write_text(code)
    cfg = Config.fromfile(str(folder / 'snippet.py'))
    assert cfg.default_scope == scope
    init_default_scope(scope)
    model = revert_sync_batchnorm(importlib.import_module(f'{scope}.registry').MODELS.build(cfg.model))
    log = logged(model.init_weights)
    assert 'loaded restv2_tiny_224.pth (model weights) into ResTv2' in log
    state = model.backbone.state_dict()
    assert all(torch.equal(state[k], v) for k, v in backbone.items())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        if scope == 'mmdet':
            assert [tuple(f.shape) for f in model.eval().extract_feat(x)] == \
                [(1, 256, 16, 16), (1, 256, 8, 8), (1, 256, 4, 4), (1, 256, 2, 2), (1, 256, 1, 1)]
        elif scope == 'mmseg':
            assert model.eval()(x, mode='tensor').shape == (1, 150, 16, 16)
        else:
            assert model.eval()(x, mode='tensor').shape == (1, 1000)


@pytest.mark.slow
def test_readme_training_command_loads_the_checkpoint(user_dir, monkeypatch):
    """README's command, as written, through tools/train.py's main() up to the runner (the COCO
    data it names are not here), then the backbone it configures initialised."""
    from mmdet.registry import MODELS
    folder, backbone = user_dir
    command = readme_command(r'python tools/train\.py .*pretrained=')
    assert command[command.index('--cfg-options') + 1] == 'pretrained=restv2_tiny_224.pth'
    train = load_tool(command[1])
    handed = []

    def runner_from_cfg(cfg):
        handed.append(cfg)
        raise KeyboardInterrupt  # stop before training

    monkeypatch.chdir(folder)
    monkeypatch.setattr(DefaultScope, '_instance_dict', OrderedDict())
    monkeypatch.setattr(train, 'check_data_roots', lambda *args: None)
    monkeypatch.setattr(train.Runner, 'from_cfg', runner_from_cfg)
    with pytest.raises(KeyboardInterrupt):
        train.main(command[2:])
    cfg, = handed
    assert cfg.model.backbone.init_cfg.checkpoint == 'restv2_tiny_224.pth'
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model.backbone)
    log = logged(model.init_weights)
    # What README says the log shows.
    shown = re.search(r'The log shows `([^`]+)`', read('README.md')).group(1)
    assert shown in log
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in backbone.items())
