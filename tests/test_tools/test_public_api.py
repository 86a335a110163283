"""The tools use the package's public names only: ``restv2_mm`` and its layers' ``__all__``; each
is a thin script (its logic in the package); the installed package runs no files.

The import-linter contracts in pyproject.toml (run by ``make lint``) forbid the tools any module
deeper than a layer; these tests check the names themselves, and that the contract does fail on a
tool that reaches into an internal module.
"""
import ast
import glob
import importlib
import inspect
import os.path as osp
import shutil
import sys

import pytest

from helpers import REPO, run_tool

MAX_TOOL_LINES = 150
# Scripts that still hold logic of their own (strict: each fails here once it is thin).
NOT_THIN = set()


def tool_imports(repo_root):
    """(tool path, module, name) for every ``from restv2_mm... import name`` in tools/."""
    for path in sorted(glob.glob(osp.join(repo_root, 'tools', '**', '*.py'), recursive=True)):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('restv2_mm'):
                for alias in node.names:
                    yield osp.relpath(path, repo_root), node.module, alias.name


def test_tools_import_only_public_names(repo_root):
    found = list(tool_imports(repo_root))
    assert len({path for path, _, _ in found}) >= 8  # the scan sees the tools
    for path, module, name in found:
        assert module.count('.') <= 1, f'{path} imports {module}, below the public layers'
        parent = importlib.import_module(module)
        if name not in getattr(parent, '__all__', ()) and not inspect.ismodule(getattr(parent, name, None)):
            pytest.fail(f'{path}: `from {module} import {name}`: {name} is not in {module}.__all__')


def test_the_contract_fails_on_a_tool_that_reaches_into_a_module(repo_root, tmp_path):
    linter = osp.join(osp.dirname(sys.executable), 'lint-imports')
    if not osp.exists(linter):
        pytest.skip('import-linter is not installed in this environment')
    for name in ('restv2_mm', 'tools'):
        shutil.copytree(osp.join(repo_root, name), tmp_path / name,
                        ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(osp.join(repo_root, 'pyproject.toml'), tmp_path)

    def lint():
        return run_tool([linter, '--no-cache'], python=False, cwd=tmp_path, check=False)

    assert lint().returncode == 0, 'the copied tree must pass before it is broken'
    (tmp_path / 'tools' / 'bad_tool.py').write_text(
        'from restv2_mm.models.common.pretrained import fit_state_dict  # noqa: F401\n')
    out = lint()
    assert out.returncode != 0
    assert 'tools.bad_tool -> restv2_mm.models.common.pretrained' in out.stdout


def _tool_files():
    for path in sorted(glob.glob(osp.join(REPO, 'tools', '**', '*.py'), recursive=True)):
        rel = osp.relpath(path, REPO)
        marks = [pytest.mark.xfail(strict=True, reason='logic still in the script')] \
            if rel in NOT_THIN else []
        yield pytest.param(rel, id=rel, marks=marks)


@pytest.mark.parametrize('path', _tool_files())
def test_tools_are_thin_scripts(path):
    with open(osp.join(REPO, path)) as f:
        lines = len(f.readlines())
    assert lines <= MAX_TOOL_LINES, (
        f'{path} has {lines} lines (at most {MAX_TOOL_LINES}): a tool parses its arguments and calls '
        'public package functions; move its logic into the package')


def executed_files(package_dir):
    """(file, line, what) for each place under ``package_dir`` that runs code from a file or a
    string: the builtins exec/eval/compile, runpy, a module loaded from a path, a replaced
    ``__import__``."""
    builtins, loaders = ('exec', 'eval', 'compile'), ('run_path', 'run_module', 'spec_from_file_location')
    for path in sorted(glob.glob(osp.join(package_dir, '**', '*.py'), recursive=True)):
        for node in ast.walk(ast.parse(open(path).read(), path)):
            what = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in builtins:
                what = node.func.id
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in loaders:
                what = node.func.attr
            elif isinstance(node, ast.keyword) and node.arg == '__import__' or \
                    isinstance(node, ast.Constant) and node.value == '__import__':
                what = '__import__'
            if what:
                yield osp.relpath(path, package_dir), getattr(node, 'lineno', 0), what


def test_the_installed_package_runs_no_files(repo_root, tmp_path):
    """Code that executes third-party files (the official RMT loader) lives with the tests."""
    assert list(executed_files(osp.join(repo_root, 'restv2_mm'))) == []
    # A loader like tests/official_rmt.py inside the package is found.
    (tmp_path / 'loader.py').write_text(open(osp.join(repo_root, 'tests', 'official_rmt.py')).read())
    found = {what for _, _, what in executed_files(str(tmp_path))}
    assert {'exec', 'compile', '__import__'} <= found, found
