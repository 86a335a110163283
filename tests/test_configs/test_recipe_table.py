"""docs/recipes.md (ResTv2) and docs/rmt.md (RMT): every row of their recipe tables has a test that
names it, and no test names a row that is gone."""
import glob
import os.path as osp
import re

ROW = re.compile(r'^\| (R-[A-Z0-9]+-\d\d) \|', flags=re.M)
COMMENT_ID = re.compile(r'R-[A-Z0-9]+-\d\d')


def ids_in_comments(path):
    text = open(path).read()
    if osp.basename(path) == osp.basename(__file__):
        return set()
    comments = re.findall(r'#[^\n]*', text)
    return {i for c in comments for i in COMMENT_ID.findall(c)}


def test_every_row_of_the_recipe_tables_is_tested(repo_root):
    restv2 = ROW.findall(open(osp.join(repo_root, 'docs', 'recipes.md')).read())
    rmt = ROW.findall(open(osp.join(repo_root, 'docs', 'rmt.md')).read())
    assert len(restv2) >= 80 and len(rmt) >= 60
    rows = restv2 + rmt
    assert len(rows) == len(set(rows)), 'row ids must be unique'
    tested = set()
    for path in glob.glob(osp.join(repo_root, 'tests', '**', 'test_*.py'), recursive=True):
        tested |= ids_in_comments(path)
    assert sorted(set(rows) - tested) == [], 'rows without a test'
    assert sorted(tested - set(rows)) == [], 'tests naming rows not in docs/recipes.md or rmt.md'
