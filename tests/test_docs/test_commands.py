"""Every shell command that README.md and docs/ show (in ```bash blocks and as inline code) names a
tool, options and files that exist, as written:

- ``python tools/X.py ARGS``, ``python -m restv2_mm...``, and the arguments that
  ``tools/dist_train.sh`` / ``tools/slurm_train.sh`` pass on to tools/train.py: the tool's own
  argument parser accepts them (a synopsis with ``[...]``, ``|`` or ``...``: each option it names
  exists); a ``pkg::`` config is in that package; ``--cfg-options`` keys exist in the config;
- ``make TARGET``: ``make -n`` accepts it; ``bash FILE``, ``python tests/...``: the file exists;
- programs outside the set-up (``python -m build``, ``twine``, ``mim``) come after the page's
  ``pip install`` of the requirements file that lists them; ``mim train/test`` of a demo config
  sets ``RESTV2_DATA`` (an installed package has no ``../shared/data`` beside it).

Running them: the tools' parsers run in-process (argparse stops before any work); ``make -n`` runs;
the tables' render commands run in test_tables.py, README's converter and training command in
test_snippets.py.
"""
import argparse
import glob
import importlib
import inspect
import os.path as osp
import re
import shlex
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO

import pytest

from helpers import REPO, load_config, load_tool

PAGES = sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))) + [osp.join(REPO, 'README.md')]
PROGRAMS = ('python', 'bash', 'make', 'mim', 'pip', 'twine')
ENV = re.compile(r'^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+')
START = re.compile(r'^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\.venv[\w-]*/bin/)?(?:'
                   + '|'.join(PROGRAMS) + r')(?:\s|$)')
# Programs the set-up leaves out: the distribution a page must install before showing them.
OPTIONAL = {'build': 'build', 'twine': 'twine', 'mim': 'openmim'}
MIM_COMMANDS = ('install', 'uninstall', 'list', 'search', 'download', 'train', 'test', 'run', 'gridsearch')
SYNOPSIS = re.compile(r'\[|\||\.\.\.|<')


def read(page):
    with open(page) as f:
        return f.read()


def page_commands(page):
    """(offset, command, in_block) of each command on a page: the lines of ```bash blocks (``\\``
    continuations and indented ``[...]`` synopsis lines joined, comments dropped), then inline code
    that starts with a program."""
    text = read(page)
    found = []
    for block in re.finditer(r'```(?:bash|sh|shell)\n(.*?)```', text, re.S):
        lines = []
        for line in block.group(1).replace('\\\n', ' ').splitlines():
            line = re.sub(r'\s+#.*$', '', line) if not line.lstrip().startswith('#') else ''
            if line.strip().startswith('[') and lines:
                lines[-1] += ' ' + line.strip()
            elif line.strip():
                lines.append(line.strip())
        found += [(block.start() + i, line, True) for i, line in enumerate(lines)]
    prose = re.sub(r'```.*?```', lambda m: ' ' * len(m.group()), text, flags=re.S)
    for code in re.finditer(r'`([^`\n]+)`', prose):
        words = ENV.sub('', code.group(1)).split()
        # `mim test` in a sentence names a command; `mim search restv2_mm` is one.
        if START.match(code.group(1)) and len(words) >= (3 if words[0] == 'mim' else 2):
            found.append((code.start(), code.group(1), False))
    return sorted(found)


def commands():
    for page in PAGES:
        name = osp.relpath(page, REPO)
        for i, (offset, command, in_block) in enumerate(page_commands(page)):
            yield pytest.param(name, offset, command, in_block, id=f'{name}#{i + 1}')


class _Parser(Exception):
    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def tool_parser(main, monkeypatch):
    """The argparse parser ``main(argv)`` builds (stopped at its first parse)."""
    def stop(self, *args, **kwargs):
        raise _Parser(self)
    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, 'parse_known_args', stop)
        m.setattr(sys, 'argv', ['tool'])
        try:
            main([]) if inspect.signature(main).parameters else main()  # a few read sys.argv
        except _Parser as found:
            return found.parser
    raise AssertionError(f'{main} parsed no arguments')


def check_arguments(main, argv, synopsis, monkeypatch, what):
    parser = tool_parser(main, monkeypatch)
    known = {s for a in parser._actions for s in a.option_strings}
    options = {o.split('=')[0] for token in argv for o in re.findall(r'(?<![\w-])--?[a-zA-Z][\w-]*', token)}
    assert options <= known, f'{what}: no option {sorted(options - known)}'
    if synopsis:
        return
    out = StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            raise AssertionError(f'{what}: {out.getvalue().strip()}') from None
    config = getattr(args, 'config', None)
    if isinstance(config, str):
        check_config(config, getattr(args, 'cfg_options', None) or {}, what)


def check_config(config, options, what):
    if '::' in config:
        package, path = config.split('::')
        root = osp.dirname(importlib.import_module(package).__file__)
        assert osp.isfile(osp.join(root, '.mim', 'configs', path)), f'{what}: no {config}'
        return
    if not re.match(r'configs/', config):
        return  # a placeholder (CONFIG)
    assert osp.isfile(osp.join(REPO, config)), f'{what}: no {config}'
    cfg = load_config(config)
    for key in options:
        parent, _, leaf = key.rpartition('.')
        node = cfg
        for part in parent.split('.') if parent else []:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            assert node is not None, f'{what}: {config} has no {parent}'
        assert isinstance(node, list) or leaf in node or leaf in ('required', 'checkpoint'), \
            f'{what}: {config} has no {key}'


def installed_before(page, offset, distribution):
    """Whether the page shows, before ``offset``, a ``pip install`` of ``distribution`` (by name
    or through a requirements file that lists it)."""
    for at, command, _ in page_commands(page):
        if at >= offset or not re.search(r'\bpip install\b', command):
            continue
        for token in shlex.split(command):
            if token == distribution:
                return True
            if token.startswith('requirements/'):
                lines = read(osp.join(REPO, token)).splitlines()
                if any(re.match(rf'{re.escape(distribution)}\b', line) for line in lines):
                    return True
    return False


@pytest.mark.parametrize('page,offset,command,in_block', list(commands()))
def test_command_names_what_exists(page, offset, command, in_block, monkeypatch):
    what = f'{page}: `{command}`'
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", '', command)
    assert not re.search(r'[()]', unquoted), f'{what}: the shell stops at an unquoted parenthesis'
    env = ENV.match(command)
    env = dict(v.split('=', 1) for v in env.group().split()) if env else {}
    synopsis = bool(SYNOPSIS.search(command))
    argv = shlex.split(ENV.sub('', command).replace('|', ' ').replace('[', ' ').replace(']', ' ')) \
        if synopsis else shlex.split(ENV.sub('', command))
    program, args = osp.basename(argv[0]), argv[1:]
    if program.startswith('python') and args[:1] == ['-m']:
        module, args = args[1], args[2:]
        if module in OPTIONAL:
            assert installed_before(osp.join(REPO, page), offset, OPTIONAL[module]), \
                f'{what}: show `pip install -r requirements/...` with {OPTIONAL[module]} first'
        elif module.startswith('restv2_mm'):
            check_arguments(importlib.import_module(module).main, args, synopsis, monkeypatch, what)
        else:
            assert importlib.util.find_spec(module), f'{what}: no module {module}'
    elif program.startswith('python'):
        script = args[0]
        assert osp.isfile(osp.join(REPO, script)), f'{what}: no {script}'
        if script.startswith('tools/'):
            check_arguments(load_tool(script).main, args[1:], synopsis, monkeypatch, what)
    elif program == 'bash':
        script = args[0]
        assert osp.isfile(osp.join(REPO, script)), f'{what}: no {script}'
        passed = {'tools/dist_train.sh': lambda a: a[:1] + a[2:],  # CONFIG NUM_PROCS [train.py args]
                  'tools/slurm_train.sh': lambda a: a[2:3] + ['--work-dir', a[3]] + a[4:]}.get(script)
        if passed and len(args) > 3:
            check_arguments(load_tool('tools/train.py').main, passed(args[1:]), synopsis, monkeypatch, what)
    elif program == 'make':
        proc = subprocess.run(['make', '-n', *args], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, f'{what}: {proc.stderr.strip()}'
    elif program in ('mim', 'twine'):
        assert installed_before(osp.join(REPO, page), offset, OPTIONAL[program]), \
            f'{what}: show `pip install -r requirements/...` with {OPTIONAL[program]} first'
        if program == 'mim':
            assert args[0] in MIM_COMMANDS, f'{what}: mim has no command {args[0]!r}'
            if args[0] in ('train', 'test') and len(args) > 2:
                configs = glob.glob(osp.join(REPO, 'configs', '**', args[2]), recursive=True)
                assert configs, f'{what}: no config {args[2]} in configs/'
                if 'RESTV2_DATA' in read(configs[0]):
                    assert 'RESTV2_DATA' in env, f'{what}: the installed demo needs RESTV2_DATA'
    elif program == 'pip':
        for token in args:
            if token.startswith('requirements/'):
                assert osp.isfile(osp.join(REPO, token)), f'{what}: no {token}'


def test_the_commands_are_found():
    found = {c.values[2] for c in commands()}
    assert len(found) > 100
    assert 'python tools/train.py configs/mmdet/mask_rcnn_restv2_t_3x.py --cfg-options ' \
           'pretrained=restv2_tiny_224.pth' in found
    assert 'python -m build' in found and 'make demo-seg' in found
    assert any(c.startswith('RESTV2_DATA=') and ' mim train ' in c for c in found)
