"""docs/recipes.md (ResTv2), docs/rmt.md (RMT) and docs/configs.md (the rule of the ResTv2 configs
beyond the paper): every row of their recipe tables is named by a test that checks it, and no test
names a row that is gone.

A row counts as tested only where its id (``# R-IN224-07``) is a comment inside a function that
asserts something (``assert`` or ``pytest.raises``: a ``test_*`` function or a check it calls); an
id anywhere else (a module comment, a function that checks nothing) is an error, so that a row
cannot pass on a stray mention.
"""
import ast
import glob
import io
import os.path as osp
import re
import tokenize

ROW = re.compile(r'^\| (R-[A-Z0-9]+-\d\d) \|', flags=re.M)
ROW_ID = re.compile(r'R-[A-Z0-9]+-\d\d')


def _asserts(node):
    return any(isinstance(n, ast.Assert) or (
        isinstance(n, ast.With) and any('raises' in ast.unparse(i.context_expr) for i in n.items))
        for n in ast.walk(node))


def row_mentions(path):
    """(tested ids, [(line, id) named outside an asserting test function]) of one test file."""
    text = open(path).read()
    spans = [(f.lineno, f.end_lineno) for f in ast.walk(ast.parse(text, path))
             if isinstance(f, ast.FunctionDef) and _asserts(f)]
    tested, stray = set(), []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type != tokenize.COMMENT:
            continue
        line = tok.start[0]
        for row in ROW_ID.findall(tok.string):
            if any(a <= line <= b for a, b in spans):
                tested.add(row)
            else:
                stray.append((line, row))
    return tested, stray


def test_every_row_of_the_recipe_tables_is_tested(repo_root):
    restv2 = ROW.findall(open(osp.join(repo_root, 'docs', 'recipes.md')).read())
    rmt = ROW.findall(open(osp.join(repo_root, 'docs', 'rmt.md')).read())
    beyond = ROW.findall(open(osp.join(repo_root, 'docs', 'configs.md')).read())
    assert len(restv2) >= 80 and len(rmt) >= 60 and len(beyond) >= 13
    rows = restv2 + rmt + beyond
    assert len(rows) == len(set(rows)), 'row ids must be unique'
    tested, stray = set(), []
    for path in glob.glob(osp.join(repo_root, 'tests', '**', 'test_*.py'), recursive=True):
        if osp.samefile(path, __file__):
            continue
        got, outside = row_mentions(path)
        tested |= got
        stray += [f'{osp.relpath(path, repo_root)}:{line} {row}' for line, row in outside]
    assert stray == [], 'row ids named outside a function that asserts'
    assert sorted(set(rows) - tested) == [], 'rows without a test'
    assert sorted(tested - set(rows)) == [], 'tests naming rows not in docs/recipes.md, rmt.md, configs.md'


def test_an_id_outside_a_test_function_does_not_count(tmp_path):
    path = tmp_path / 'test_x.py'
    path.write_text('# R-IN224-01\n\ndef check(cfg):\n    # R-IN224-02\n    assert cfg\n\n\n'
                    'def test_a():\n    # R-IN224-03\n    x = 1\n\n\n'
                    'def test_b():\n    # R-IN224-04\n    with pytest.raises(ValueError):\n'
                    '        f()\n')
    tested, stray = row_mentions(str(path))
    assert tested == {'R-IN224-02', 'R-IN224-04'}
    assert [row for _, row in stray] == ['R-IN224-01', 'R-IN224-03']
