"""What many tests share: the repository's paths, running a tool as a user would, importing a
tool's module to call its functions, loading a config once per test process, the names a brace
pattern of the docs stands for, counting what autograd keeps for backward, and capturing what
mmengine logs.

Importable from every test module: tests/conftest.py puts this folder on ``sys.path`` (pytest's
importlib mode does not).
"""
import copy
import functools
import importlib.util
import itertools
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA = os.environ.get('RESTV2_DATA', osp.join(REPO, '..', 'shared', 'data'))


def load_tool(path: str):
    """The module of the tool script at ``path`` (relative to the repository), imported under its
    file name; tools/ is not a package, so its scripts are loaded by path."""
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0],
                                                  osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(path: str, **options):
    """A fresh copy of the config at ``path`` (relative to the repository, or absolute), with
    ``options`` merged (``Config.merge_from_dict``).

    Each file is parsed once per test process: mmengine resolves every ``mmdet::``/``mmseg::`` base
    by reading its package's metafiles (~0.3 s a base), and the tests load the same configs many
    times. Callers get a deep copy, so that what one test changes no other sees. The configs read
    ``$RESTV2_DATA`` when parsed, so it is part of the cache key, and so is the file's text: a
    test's temporary folder is removed when it passes, and the next test may write another config
    under the same name."""
    path = osp.join(REPO, path)
    with open(path) as f:
        text = f.read()
    cfg = copy.deepcopy(_parsed(path, os.environ.get('RESTV2_DATA'), text))
    cfg.merge_from_dict(options)
    return cfg


@functools.lru_cache(maxsize=None)
def _parsed(path: str, data_root: Optional[str], text: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def expand(path: str) -> list:
    """The names a brace pattern of the docs stands for: `a_{x,y}.py` -> [`a_x.py`, `a_y.py`]."""
    parts = re.split(r'\{([^}]*)\}', path)
    choices = [[p] if i % 2 == 0 else p.split(',') for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def run_tool(args: Sequence, *, data_root: Optional[str] = None, check: bool = True,
             timeout: float = 900, cwd: str = REPO, python: bool = True,
             **env: str) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` (or ``ARGS`` with ``python=False``) in the repository, as a user would.

    Args:
        args: The script and its arguments (paths relative to ``cwd``); non-strings are str()'d.
        data_root: Exported as ``RESTV2_DATA`` (the demo configs read it).
        check: Assert a zero exit status, showing the output's tail when it is not.
        env: Extra environment variables; a value of None removes the variable.

    Returns:
        The finished process, with ``output`` = stdout + stderr.
    """
    environ = dict(os.environ, PYTHONUNBUFFERED='1')
    if data_root is not None:
        environ['RESTV2_DATA'] = data_root
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    command = ([sys.executable] if python else []) + [str(a) for a in args]
    proc = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=timeout)
    proc.output = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, f'{" ".join(command)} failed:\n{proc.output[-6000:]}'
    return proc


def saved_numels(fn, params):
    """Elements of the tensors autograd keeps for backward while ``fn`` runs, ``params`` (and
    views of them) aside."""
    import torch
    numels, skip = {}, {p.data_ptr() for p in params}

    def pack(t):
        if t.data_ptr() not in skip:
            numels[t.data_ptr()] = t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(numels.values())


def logged(fn) -> str:
    """What ``fn()`` logs to mmengine's current logger (e.g. a checkpoint loaded by init_weights)."""
    import io
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        fn()
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()
