"""Every relative link of the docs and README.md leads to a file (and heading) that exists, and every
repository path they name (``tools/...``, ``configs/...``, ``docs/...``, ...) exists, files that a
command writes (``--out``, ``--plot``) aside."""
import glob
import os.path as osp
import re

import pytest

from helpers import REPO, expand

PAGES = sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))) + [osp.join(REPO, 'README.md')]
LINK = re.compile(r'\]\(([^)\s]+)\)')
# A path in quotes is an error message's (a stock library's file, relative to that library).
PATH = re.compile(r'(?<![\w/.:\'-])((?:tools|configs|docs|tests|restv2_mm|requirements)/[\w./{},*-]*[\w}])')
OUTPUTS = re.compile(r'--(?:out|plot|json|work-dir)(?:\s+[\w./-]+)+')  # files a command writes


def read(page):
    with open(page) as f:
        return f.read()


def anchors(page):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-')
            for h in re.findall(r'^#+ (.*)$', read(page), re.M)}


@pytest.mark.parametrize('page', PAGES, ids=lambda p: osp.relpath(p, REPO))
def test_relative_links_resolve(page):
    bad = []
    for target in LINK.findall(read(page)):
        if re.match(r'[a-z]+:', target):
            continue
        path, _, anchor = target.partition('#')
        full = osp.normpath(osp.join(osp.dirname(page), path)) if path else page
        if not osp.exists(full):
            bad.append(target)
        elif anchor and full.endswith('.md') and anchor not in anchors(full):
            bad.append(f'{target} (no such heading)')
    assert not bad, f'{osp.relpath(page, REPO)}: broken links {bad}'


@pytest.mark.parametrize('page', PAGES, ids=lambda p: osp.relpath(p, REPO))
def test_named_paths_exist(page):
    bad = [p for p in PATH.findall(OUTPUTS.sub('', read(page)))
           if not all(glob.glob(osp.join(REPO, e)) for e in expand(p.split('::')[0]))]
    assert not bad, f'{osp.relpath(page, REPO)}: no such path {sorted(set(bad))}'
