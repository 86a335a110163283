"""Result files of the measuring tools: a record kept as JSON, written atomically, and the markdown
tables rendered from it.

Every tool that measures something (benchmarks, FLOPs, ONNX parity, demo summaries) keeps its
figures in one JSON record and renders its tables from that record, never from the measurement
directly, so that a page's table can always be regenerated (``--render FILE.json``) and checked
against its data (``tests/test_docs``). Checkpoints go through the same writer
(:class:`restv2_mm.engine.AtomicLocalBackend`).
"""
import json
import os
import os.path as osp
import shlex
import stat
import tempfile
from typing import Any, Iterable, Mapping, Optional, Sequence, Union


def atomic_write(path: str, data: Union[str, bytes], encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that a reader (or a crash) never sees a half-written file.

    The bytes go to a temporary file in the target's folder (created if missing), are flushed and
    fsync'ed, and the file is renamed over the target (``os.replace``, atomic on POSIX). A process
    killed at any point leaves the old file or the complete new one, and at worst a stray
    ``.<name>.*.tmp`` beside it.

    The file gets the permissions ``open(path, 'w')`` would give it: an existing file's mode, a
    new one ``0o666`` less the umask (a temporary file alone would be private, ``0o600``, and so
    would every checkpoint written through it).

    Raises:
        TypeError: ``data`` is neither str nor bytes.
        OSError: the folder cannot be created or written.
    """
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, (bytes, bytearray)):
        raise TypeError(f'data must be str or bytes, got {type(data).__name__}')
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        os.chmod(tmp, _mode_of(path))
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _mode_of(path: str) -> int:
    """The permission bits ``open(path, 'w')`` leaves ``path`` with."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)  # read by setting it: the only portable way
        os.umask(umask)
        return 0o666 & ~umask


def write_json(path: str, record: Any, indent: int = 1, sort_keys: bool = False) -> None:
    """``record`` as indented JSON (``indent`` spaces, keys in insertion order unless
    ``sort_keys``, a final newline), written with :func:`atomic_write`.

    Raises:
        TypeError: ``record`` holds something JSON cannot represent (names the type).
    """
    atomic_write(path, json.dumps(record, indent=indent, sort_keys=sort_keys) + '\n')


def read_json(path: str, required: Sequence[str] = ()) -> Any:
    """The record at ``path``, written by :func:`write_json`.

    Args:
        path: A JSON file.
        required: Keys the record (a dict) must have, e.g. ``('argv', 'rows')``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not JSON, or a record without the ``required`` keys; names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'no record at {path!r}: write one first (the tool with --out FILE.json)')
    with open(path, encoding='utf-8') as f:
        try:
            record = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'{path!r} is not a JSON record: {e}') from e
    missing = [k for k in required if not isinstance(record, dict) or k not in record]
    if missing:
        raise ValueError(f'{path!r} is not a record of this tool: it lacks {missing}')
    return record


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]],
                   align: Optional[str] = None) -> str:
    """A GitHub markdown table, one line per row, ending in a newline.

    Args:
        header: Column titles.
        rows: Cells per row (``str()`` of each; None prints as ``-``). Each row has
            ``len(header)`` cells.
        align: One letter per column, ``l``, ``r`` or ``c``; None: no alignment marks.

    Raises:
        ValueError: a row or ``align`` of another length than ``header``, or an unknown letter.
    """
    n = len(header)
    if align is None:
        rule = ['---'] * n
    else:
        if len(align) != n or set(align) - set('lrc'):
            raise ValueError(f'align must be {n} letters of l/r/c, got {align!r}')
        rule = [{'l': ':---', 'r': '---:', 'c': ':---:'}[a] for a in align]
    lines = ['| ' + ' | '.join(map(str, header)) + ' |', '|' + '|'.join(rule) + '|']
    for i, row in enumerate(rows):
        cells = ['-' if c is None else str(c) for c in row]
        if len(cells) != n:
            raise ValueError(f'row {i} has {len(cells)} cells, the header {n}: {cells}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def command_line(tool: str, argv: Sequence[str], env: Optional[Mapping[str, str]] = None) -> str:
    """The command that made a record, as a page quotes it: ``ENV=V python TOOL ARGV...``, each
    argument quoted where the shell needs it (a regular expression such as ``'^(A|B)$'``)."""
    prefix = ''.join(f'{k}={v} ' for k, v in (env or {}).items())
    return f'{prefix}python {tool} {shlex.join(argv)}'.rstrip()


def record_header(record: Mapping[str, Any], tool: str) -> str:
    """The two lines above a measured table: where it was measured and the command that measured
    it, from a record with ``machine``, ``torch``, ``argv`` and optionally ``env`` (the
    environment variables the command was run with)::

        Machine: AMD EPYC, AVX512, 2 threads; torch 2.14.1.
        Command: `ENV=V python TOOL ARGV...`

    Raises:
        KeyError: the record lacks ``machine``, ``torch`` or ``argv``.
    """
    return (f'Machine: {record["machine"]}; torch {record["torch"]}.\n'
            f'Command: `{command_line(tool, record["argv"], record.get("env"))}`\n')


def write_outputs(outputs: Sequence[str], record: Any, page: str) -> None:
    """Write ``record`` to each ``.json`` and the rendered ``page`` to each ``.md`` of ``outputs``
    (a tool's ``--out``), atomically.

    Raises:
        ValueError: an output that ends in neither ``.json`` nor ``.md``.
    """
    bad = [out for out in outputs if not out.endswith(('.json', '.md'))]
    if bad:
        raise ValueError(f'--out files must end in .json or .md, got {bad}')
    for out in outputs:
        if out.endswith('.json'):
            write_json(out, record)
        else:
            atomic_write(out, page)
