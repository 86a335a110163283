"""The tools use the package's public names only: ``restv2_mm`` and its layers' ``__all__``.

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

from helpers import run_tool


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
