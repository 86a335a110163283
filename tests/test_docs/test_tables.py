"""The docs' tables of measured figures are the renders of their JSON files by the tools that
measured them: a table edited by hand, or left behind when its JSON changed, fails here.

- Whole pages: a benchmark JSON in docs/ written with a page (``tools/analysis_tools/benchmark.py
  --out X.md X.json``) against that page; one written alone (``--out X.json``) is rendered by a
  marked table (``--render X.json``).
- Tables inside a page sit between ``<!-- table: COMMAND -->`` and ``<!-- end table -->``, where
  COMMAND is the tool's render-only command line; it is run here in-process and measures nothing.

``python tests/test_docs/test_tables.py`` rewrites every marked table from its command.
"""
import contextlib
import glob
import importlib.util
import io
import json
import os
import os.path as osp
import re
import shlex

import pytest

# Also run as a script (rewriting the tables), where tests/helpers.py is not importable.
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAGES = sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))) + [osp.join(REPO, 'README.md')]
MARKED = re.compile(r'<!-- table: (?P<command>.+?) -->\n(?P<table>.*?)<!-- end table -->', re.S)


def load_tool(path):
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0],
                                                  osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_pages():
    """(JSON, page) of every benchmark.py output in docs/."""
    for path in sorted(glob.glob(osp.join(REPO, 'docs', '*.json'))):
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and {'argv', 'rows'} <= set(data):
            pages = [a for a in data['argv'] if a.endswith('.md')]
            yield osp.relpath(path, REPO), pages


def marked_tables():
    for path in PAGES:
        page = osp.relpath(path, REPO)
        with open(path) as f:
            for i, m in enumerate(MARKED.finditer(f.read())):
                yield pytest.param(page, m.group('command'), m.group('table'), id=f'{page}#{i + 1}')


@pytest.mark.parametrize('json_path,pages', [pytest.param(*p, id=p[0]) for p in benchmark_pages()])
def test_benchmark_page_is_its_json_rendered(json_path, pages):
    if not pages:
        rendered = [c for _, c, _ in (p.values for p in marked_tables())]
        assert f'--render {json_path}' in ' '.join(rendered), \
            f'{json_path}: its command names no .md page and no marked table renders it'
        return
    assert len(pages) == 1, f'{json_path}: its command names several .md pages'
    with open(osp.join(REPO, json_path)) as f:
        expected = load_tool('tools/analysis_tools/benchmark.py').render(json.load(f))
    with open(osp.join(REPO, pages[0])) as f:
        assert f.read() == expected, (
            f'{pages[0]} differs from {json_path}; regenerate it with\n'
            f'  python tools/analysis_tools/benchmark.py --render {json_path} --out {pages[0]}')


def run(command):
    """What ``command`` (``python tools/... ARGS``, run from the repository root) prints."""
    argv = shlex.split(command)
    assert argv[0] == 'python' and argv[1].startswith('tools/'), command
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_tool(argv[1]).main(argv[2:])
    return out.getvalue()


@pytest.mark.parametrize('page,command,table', list(marked_tables()))
def test_marked_table_is_its_tool_output(page, command, table, monkeypatch):
    monkeypatch.chdir(REPO)
    assert table == run(command), f'{page}: the table differs from the output of\n  {command}'


def test_the_tables_are_found():
    assert len(list(benchmark_pages())) >= 3
    assert {p.values[0] for p in marked_tables()} >= {'README.md', 'docs/model_zoo.md',
                                                           'docs/analyze_flops.md', 'docs/ablations.md'}


if __name__ == '__main__':
    os.chdir(REPO)
    for path in PAGES:
        with open(path) as f:
            text = f.read()
        new = MARKED.sub(
            lambda m: f'<!-- table: {m["command"]} -->\n{run(m["command"])}<!-- end table -->', text)
        if new != text:
            with open(path, 'w') as f:
                f.write(new)
            print(f'rewrote {osp.relpath(path, REPO)}')
