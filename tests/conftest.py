"""Shared fixtures. There is deliberately no tests/__init__.py: mmsegmentation's wheel installs a
top-level ``tests`` package, and pytest's importlib mode (pyproject.toml) keeps ours apart from it."""
import importlib.util
import os
import os.path as osp
import sys

import pytest

# setuptools first: it replaces distutils when imported, and fails to when a module imported the
# standard library's distutils before it (torch.utils.cpp_extension imports setuptools late).
import setuptools  # noqa: F401
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tests/helpers.py, for every test module
from helpers import DATA, REPO  # noqa: E402

# Tools started by the tests import this checkout's package, whatever is installed.
os.environ['PYTHONPATH'] = os.pathsep.join(
    p for p in (REPO, os.environ.get('PYTHONPATH')) if p)

# Under pytest-xdist (`make test` runs two workers), each worker and the tools it starts get an
# equal share of the cores: two workers of two threads each on two cores run slower than one.
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
if _WORKERS > 1:
    _THREADS = str(max(1, torch.get_num_threads() // _WORKERS))
    os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = _THREADS
    torch.set_num_threads(int(_THREADS))

# mmcv's compiled ops: mmdet's and mmseg's models import only with them (mmcv-lite has none).
HAS_MMCV_OPS = importlib.util.find_spec('mmcv') is not None and \
    importlib.util.find_spec('mmcv._ext') is not None


def pytest_runtest_setup(item):
    if item.get_closest_marker('mmcv_ops') and not HAS_MMCV_OPS:
        pytest.skip("needs mmcv's compiled ops (mmdet/mmseg models); this mmcv has none (mmcv-lite)")


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def data_root():
    if not osp.isdir(osp.join(DATA, 'coco_mini')):
        pytest.fail(f'the small real datasets are expected in {DATA} (set RESTV2_DATA)')
    return DATA


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope='session')
def _cuda_autocast_lists():
    """``RESTV2_CUDA_AUTOCAST=1``: every CPU autocast in the run casts as CUDA autocast does
    (tests/gpu_emulation.py), so that the bf16 tests follow a GPU's dtype flow."""
    if os.environ.get('RESTV2_CUDA_AUTOCAST', '0') != '1':
        yield
        return
    from gpu_emulation import cuda_autocast_lists
    with cuda_autocast_lists():
        yield
