"""The installable package: a wheel built from the tree carries the configs, the tools and
model-index.yml under restv2_mm/.mim/, and once installed (not editable) into a fresh virtual
environment, code run outside the repository finds our models by name through mmpretrain's
get_model, every metafile config is there (one per library parsed with its _base_ chain), a user's
config trains with mmpretrain's stock tool, and `mim search / train / test restv2_mm` work (where
openmim is installed)."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from helpers import REPO, run_tool

# What a wheel is built from: the package and what it carries (not the tests, docs or venvs).
SOURCES = ('restv2_mm', 'configs', 'tools', 'requirements', 'model-index.yml', 'setup.py',
           'pyproject.toml', 'MANIFEST.in', 'README.md')


def sh(args, cwd=REPO, env=None):
    """Run a command (another interpreter: the test's virtual environment) in the environment
    ``env`` (default: this one); its output."""
    changes = {} if env is None else {**{k: None for k in os.environ if k not in env}, **env}
    return run_tool(args, python=False, cwd=cwd, timeout=600, **changes).output


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    root = tmp_path_factory.mktemp('pkg')
    src = root / 'src'
    src.mkdir()
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info')
    for name in SOURCES:  # restv2_mm/.mim holds symbolic links into configs/ and tools/: kept
        path = osp.join(REPO, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copyfile(path, src / name)
    sh([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
        '-w', str(root / 'dist'), str(src)])
    (found, ) = (root / 'dist').glob('restv2_mm-*.whl')
    return found


def test_wheel_carries_mim_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for path in ('restv2_mm/.mim/model-index.yml', 'restv2_mm/.mim/configs/mmpretrain/metafile.yml',
                 'restv2_mm/.mim/configs/mmdet/mask_rcnn_restv2_t_3x.py',
                 'restv2_mm/.mim/configs/mmseg/upernet_restv2_t_512x512_160k_ade20k.py',
                 'restv2_mm/.mim/tools/train.py', 'restv2_mm/.mim/tools/test.py',
                 'restv2_mm/registry.py'):
        assert path in names, path
    assert not any(n.startswith('tests/') or '/__pycache__/' in n for n in names)
    meta = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith('.dist-info/METADATA'))).decode()
    assert 'Requires-Dist: torch>=2.1' in meta and 'Requires-Python: >=3.10' in meta


CHECK = '''
import os, sys, yaml
import restv2_mm
assert restv2_mm.__file__.startswith(SITE), restv2_mm.__file__
from restv2_mm.registry import REPO
assert REPO == os.path.join(SITE, 'restv2_mm', '.mim'), REPO
from mmpretrain import get_model, list_models
names = list_models('restv2*') + list_models('rmt*') + list_models('restv1*')
print('NAMES', len(names))
model = get_model('restv2-tiny_8xb256_in1k')
print('MODEL', type(model.backbone).__name__, sum(p.numel() for p in model.parameters()))
from mmengine.config import Config
done = 0
for lib in ('mmpretrain', 'mmdet', 'mmseg'):
    with open(os.path.join(REPO, 'configs', lib, 'metafile.yml')) as f:
        entries = yaml.safe_load(f)['Models']
    for entry in entries:  # every metafile config is there
        assert os.path.isfile(os.path.join(REPO, entry['Config'])), entry['Config']
        done += 1
    # and resolves, with its _base_ chain (ours and the library's), here the first of each library
    cfg = Config.fromfile(os.path.join(REPO, entries[0]['Config']))
    assert cfg.model.backbone.type in ('ResTv2', 'ResTv1', 'RMT'), entries[0]['Config']
print('CONFIGS', done)
'''


@pytest.fixture(scope='module')
def installed(wheel, tmp_path_factory):
    """(python, env, cwd): a fresh virtual environment with the wheel installed (not editable),
    run from a directory outside the repository."""
    root = tmp_path_factory.mktemp('venv')
    venv = root / 'venv'
    sh([sys.executable, '-m', 'venv', '--without-pip', str(venv)])
    python = str(venv / 'bin' / 'python')
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The heavy dependencies (torch, mm*) come from this interpreter's site-packages (and those it
    # chains to), appended after the venv's own as plain path lines: an editable restv2_mm there
    # (a .pth or finder) is not picked up.
    outer = [p for p in sys.path if p.rstrip('/').endswith(('site-packages', 'dist-packages'))]
    with open(osp.join(site, 'outer.pth'), 'w') as f:
        f.write('\n'.join(outer) + '\n')
    sh([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', site, str(wheel)])
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    work = root / 'elsewhere'
    work.mkdir()
    return python, site, env, str(work)


@pytest.mark.slow
def test_installed_wheel_outside_the_repo(installed):
    python, site, env, work = installed
    out = sh([python, '-c', f'SITE = {site!r}\n' + textwrap.dedent(CHECK)], cwd=work, env=env)
    assert 'MODEL ResTv2 30' in out  # ResTv2-T classifier: 30.43M parameters
    names = int(out.split('NAMES ')[1].split()[0])
    configs = int(out.split('CONFIGS ')[1].split()[0])
    assert names >= 12 and configs >= names, out


MIM = 'import sys; from mim.cli import cli; sys.exit(cli())'


@pytest.mark.slow
def test_mim_search_train_test(installed, data_root, tmp_path):
    """`mim search / train / test restv2_mm` on the installed wheel (mim finds configs and tools in
    restv2_mm/.mim), training the classification demo one epoch on 8 images."""
    if importlib.util.find_spec('mim') is None:
        pytest.skip('openmim is not installed here: requirements/mim.txt (docs/get_started.md, mim)')
    python, _, env, work = installed
    env = dict(env, RESTV2_DATA=data_root)
    out = sh([python, '-c', MIM, 'search', 'restv2_mm'], cwd=work, env=env)
    assert 'restv2-tiny_8xb256_in1k' in out and 'mask_rcnn_restv2_t_3x' in out, out
    config = 'restv2_t_imagenet_mini.py'  # found by name in restv2_mm/.mim/configs
    work_dir = str(tmp_path / 'w')
    out = sh([python, '-c', MIM, 'train', 'restv2_mm', config, '--work-dir', work_dir,
              '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1000',
              'train_dataloader.dataset.indices=8'], cwd=work, env=env)
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt), out[-3000:]
    out = sh([python, '-c', MIM, 'test', 'restv2_mm', config, '--checkpoint', ckpt,
              '--cfg-options', 'test_dataloader.dataset.indices=4'], cwd=work, env=env)
    assert 'accuracy/top1' in out, out[-3000:]


USER_CONFIG = '''
# A user's own config: the stock ResNet-18 recipe with our backbone, nothing from our checkout.
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
custom_imports = dict(imports=['restv2_mm'], allow_failed_imports=False)
model = dict(backbone=dict(_delete_=True, type='ResTv2', arch='tiny', out_indices=(3, )),
             head=dict(in_channels=768))
data = dict(data_root=DATA, ann_file='val.txt', data_prefix='val', split='', indices=4)
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=data)
train_cfg = dict(max_epochs=1, val_interval=1000)
val_dataloader = None
val_cfg = None
val_evaluator = None
optim_wrapper = dict(optimizer=dict(lr=1e-4))
'''


@pytest.mark.slow
def test_user_config_trains_with_the_stock_tool(installed, data_root, tmp_path):
    """custom_imports=['restv2_mm'] in a config based on mmpretrain's own, trained with mmpretrain's
    tools/train.py as installed, against the installed wheel."""
    python, _, env, work = installed
    config = tmp_path / 'my_restv2.py'
    config.write_text(USER_CONFIG.replace('DATA', repr(osp.join(data_root, 'imagenet_mini'))))
    tool = subprocess.run([python, '-c', 'import mmpretrain, os; print(os.path.join(os.path.dirname('
                           'mmpretrain.__file__), ".mim", "tools", "train.py"))'], cwd=work, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
    out = sh([python, tool, str(config), '--work-dir', str(tmp_path / 'w')], cwd=work, env=env)
    assert 'Saving checkpoint at 1 epochs' in out and osp.isfile(tmp_path / 'w' / 'epoch_1.pth'), \
        out[-3000:]
