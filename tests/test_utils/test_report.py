"""The measuring tools' result files: atomic writes, JSON records, markdown tables."""
import json
import os
import stat

import pytest

from restv2_mm.utils import (
    atomic_write,
    markdown_table,
    read_json,
    record_header,
    report,
    write_json,
    write_outputs,
)


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / 'sub' / 'r.json'
    atomic_write(str(path), 'old')
    atomic_write(str(path), b'new')
    assert path.read_text() == 'new'
    assert os.listdir(path.parent) == ['r.json']  # no temporary file left


def test_atomic_write_gives_the_permissions_open_would(tmp_path):
    # A new file: 0o666 less the umask (not the temporary file's private 0o600); an existing one
    # keeps its mode.
    old = os.umask(0o022)
    try:
        atomic_write(str(tmp_path / 'new.pth'), b'x')
        assert stat.S_IMODE(os.stat(tmp_path / 'new.pth').st_mode) == 0o644
        (tmp_path / 'kept.pth').write_bytes(b'old')
        os.chmod(tmp_path / 'kept.pth', 0o640)
        atomic_write(str(tmp_path / 'kept.pth'), b'new')
        assert stat.S_IMODE(os.stat(tmp_path / 'kept.pth').st_mode) == 0o640
    finally:
        os.umask(old)


def test_atomic_write_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'r.json'
    path.write_text('old')

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(report.os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        atomic_write(str(path), 'new')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['r.json']  # the temporary file is removed too


def test_atomic_write_rejects_other_types(tmp_path):
    with pytest.raises(TypeError, match='str or bytes'):
        atomic_write(str(tmp_path / 'x'), {'a': 1})


def test_json_round_trip_and_errors(tmp_path):
    path = str(tmp_path / 'r.json')
    record = dict(argv=['--x'], rows=[dict(a=1.5, b=None)])
    write_json(path, record)
    assert json.loads(open(path).read()) == record
    assert read_json(path, required=('argv', 'rows')) == record
    with pytest.raises(ValueError, match="lacks \\['points'\\]"):
        read_json(path, required=('points', ))
    with pytest.raises(FileNotFoundError, match='no record'):
        read_json(str(tmp_path / 'missing.json'))
    (tmp_path / 'bad.json').write_text('{')
    with pytest.raises(ValueError, match='not a JSON record'):
        read_json(str(tmp_path / 'bad.json'))


def test_json_layout(tmp_path):
    path = str(tmp_path / 'r.json')
    write_json(path, dict(b=1, a=[2]))
    assert open(path).read() == '{\n "b": 1,\n "a": [\n  2\n ]\n}\n'
    write_json(path, dict(b=1, a=2), indent=2, sort_keys=True)  # as model_zoo_figures.json
    assert open(path).read() == '{\n  "a": 2,\n  "b": 1\n}\n'


def test_record_header():
    record = dict(machine='CPU X, AVX2, 2 threads', torch='2.4.0', argv=['--suites', 'rmt'],
                  env={'MALLOC_A_': '1'}, rows=[])
    assert record_header(record, 'tools/x.py') == (
        'Machine: CPU X, AVX2, 2 threads; torch 2.4.0.\n'
        'Command: `MALLOC_A_=1 python tools/x.py --suites rmt`\n')
    del record['env']  # records written before the environment was kept
    assert record_header(record, 'tools/x.py').endswith('`python tools/x.py --suites rmt`\n')


def test_markdown_table():
    table = markdown_table(['model', 'ms'], [['a', 1.5], ['b', None]], align='lr')
    assert table == '| model | ms |\n|:---|---:|\n| a | 1.5 |\n| b | - |\n'
    with pytest.raises(ValueError, match='row 0 has 1 cells'):
        markdown_table(['a', 'b'], [['x']])
    with pytest.raises(ValueError, match='align'):
        markdown_table(['a', 'b'], [], align='lx')


def test_write_outputs(tmp_path):
    js, md = str(tmp_path / 'r.json'), str(tmp_path / 'r.md')
    write_outputs([js, md], {'rows': []}, '| a |\n')
    assert read_json(js) == {'rows': []}
    assert open(md).read() == '| a |\n'
    with pytest.raises(ValueError, match='.json or .md'):
        write_outputs([str(tmp_path / 'r.txt')], {}, '')
