"""The compatibility matrix: every config family of mmdet and mmseg with our backbones swapped in
(:func:`restv2_mm.apis.plan_swap`), one training step and one inference each on the CPU
(:func:`.smoke_step.smoke_step`), the outcome of each kept in a JSON record as it comes.

An outcome is ``works``; ``fails`` with the reason and whose fault it is: ``framework`` (the swap
refuses, naming the setting the framework needs of its own backbone), ``stock`` (the stock
config, with its own backbone, fails the same way in the same run: the framework on the CPU) or
``ours`` (the stock config runs); or ``skipped`` with the reason (:mod:`.compat_families`). Each
entry runs in a child process (a crash or a hang costs one row) and is written to the record at
once, so an interrupted run resumes where it stopped.
"""
import contextlib
import io
import multiprocessing
import os
import os.path as osp
import signal
import sys
import threading
import time
import traceback
import warnings
from multiprocessing.connection import wait
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..analysis import measurement_context
from ..utils import read_json, write_json
from .compat_families import Entry

MATRIX_BACKBONES = ('restv2-tiny', 'rmt-tiny')
MATRIX_SIZE = 128  # at 64, stride-32..128 maps of 2x2 and less fail mmcv's deformable convs
TIMEOUT = 1200  # seconds per entry: the largest stock models build slowly on a shared CPU
MATRIX_RECORD_KEYS = ('argv', 'rows')


def _where(e: BaseException) -> str:
    """The innermost frame of ``e`` in an OpenMMLab package or ours (``mmcv/ops/x.py:12``)."""
    where = ''
    for frame in traceback.extract_tb(e.__traceback__):
        parts = frame.filename.replace(os.sep, '/').split('/')
        for i, part in enumerate(parts):
            if part in ('mmcv', 'mmdet', 'mmseg', 'mmengine', 'mmpretrain', 'restv2_mm'):
                where = f'{"/".join(parts[i:])}:{frame.lineno}'
                break
    return where


def _error(e: BaseException) -> Dict[str, str]:
    message = ' '.join(str(e).split())[:300]
    return dict(error=f'{type(e).__name__}: {message}', where=_where(e))


def same_failure(ours: Dict[str, str], stock: Dict[str, str]) -> bool:
    """Whether two failures (:func:`_error`'s ``error`` and ``where``) are the framework's one:
    the same exception type at the same line, or the same message in the same file (a neighbouring
    line of one statement, as for the x and y ranges of a mask)."""
    if ours['where'] == stock['where']:
        return ours['error'].split(':')[0] == stock['error'].split(':')[0]
    return ours['where'].rsplit(':', 1)[0] == stock['where'].rsplit(':', 1)[0] and \
        ours['error'] == stock['error']


def run_entry(entry: Entry, backbone: str, size: int) -> Dict:
    """The row of one entry with one backbone (run in the current process).

    Returns:
        dict: ``outcome``, ``fault``, ``reason``, ``field`` (framework faults), ``out_indices``,
        ``rewritten`` (the settings the swap changed), ``notes``, ``losses`` (works).
    """
    from mmengine.logging import MMLogger

    from ..apis import SwapError, backbone_config, load_config, plan_swap
    from .smoke_step import smoke_step
    MMLogger.get_instance('compat_matrix', log_level='ERROR')
    cfg = load_config(entry.name)
    try:
        plan = plan_swap(cfg, backbone_config(backbone))
    except SwapError as e:
        return dict(outcome='fails', fault='framework', field=e.field, reason=str(e))
    row = dict(out_indices=list(plan.out_indices), notes=plan.notes,
               rewritten=[c.field for c in plan.changes[1:]])
    try:
        result = smoke_step(plan.apply(cfg), size)
    except Exception as e:  # any failure: attribute it by running the stock config
        ours = _error(e)
        try:
            smoke_step(cfg, size)
        except Exception as s:
            stock = _error(s)
            same = same_failure(ours, stock)
            return dict(row, outcome='fails', fault='stock' if same else 'ours', reason=ours['error'],
                        where=ours['where'], stock_reason=stock['error'], stock_where=stock['where'])
        return dict(row, outcome='fails', fault='ours', reason=ours['error'], where=ours['where'])
    return dict(row, outcome='works', losses=result['losses'])


def _child(conn, entry: Entry, backbone: str, size: int) -> None:
    import torch

    # GNU OpenMP is not fork-safe: a child forked from a process that ran a parallel region
    # (a test session, say) hangs in its own first one. One thread runs none (and the entries run
    # side by side with --jobs anyway).
    torch.set_num_threads(1)
    warnings.filterwarnings('ignore')
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null), \
            contextlib.redirect_stderr(io.StringIO()):
        try:
            row = run_entry(entry, backbone, size)
        except BaseException as e:  # the harness itself (a config that does not load)
            row = dict(outcome='fails', fault='unknown', reason=_error(e)['error'],
                       where=_where(e))
    conn.send(row)
    conn.close()


def run_many(tasks: Sequence[Tuple[Entry, str, int]], jobs: int = 1,
             timeout: float = TIMEOUT) -> Iterator[Tuple[int, Dict]]:
    """:func:`run_entry` for each (entry, backbone, size) of ``tasks``, each in a forked child
    process, ``jobs`` at a time, a child killed after ``timeout`` seconds. Yields (index in
    ``tasks``, row) as they finish."""
    ctx = multiprocessing.get_context('fork')
    pending, running = list(enumerate(tasks)), {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index, task = pending.pop(0)
                conn, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(child, *task), daemon=True)
                proc.start()
                child.close()
                running[conn] = (index, proc, time.time())
            ready = wait(list(running), timeout=min(5, timeout))
            for conn in list(running):
                index, proc, start = running[conn]
                if conn not in ready and time.time() - start < timeout:
                    continue
                try:
                    row = conn.recv() if conn in ready else None
                except EOFError:  # the child died before sending
                    row = None
                if conn in ready:  # it has sent its row (or died): let it finish
                    proc.join(5)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
                del running[conn]
                if row is None:
                    reason = (f'no result within {timeout:.0f} s' if conn not in ready else
                              f'the process died (exit code {proc.exitcode})')
                    row = dict(outcome='fails', fault='unknown', reason=reason)
                yield index, row
    finally:  # also when this process is interrupted (SIGTERM: see run_matrix)
        for _, proc, _ in running.values():
            proc.kill()
            proc.join()


def run_isolated(entry: Entry, backbone: str, size: int, timeout: float = TIMEOUT) -> Dict:
    """:func:`run_entry` in a forked child process, killed after ``timeout`` seconds."""
    return next(run_many([(entry, backbone, size)], 1, timeout))[1]


def row_key(row: Dict) -> tuple:
    return row['library'], row['family'], row['config'], row['backbone']


def load_record(path: str, argv: Sequence[str]) -> Dict:
    """The record at ``path`` to resume, or a new one for ``argv``: ``machine``, ``torch``, ``env``
    (:func:`restv2_mm.analysis.measurement_context`), ``argv``, ``versions`` (of the OpenMMLab
    libraries), ``rows``."""
    record = read_json(path, MATRIX_RECORD_KEYS) if osp.isfile(path) else dict(rows=[])
    # A resumed record keeps the command of the whole run (a --families --redo run adds to it).
    return dict(measurement_context('cpu'), argv=record.get('argv', list(argv)),
                versions=_versions(), rows=record['rows'])


def _versions() -> Dict[str, str]:
    import mmcv
    import mmdet
    import mmengine
    import mmseg
    import torch
    return dict(torch=torch.__version__, mmcv=mmcv.__version__, mmengine=mmengine.__version__,
                mmdet=mmdet.__version__, mmseg=mmseg.__version__)


def run_matrix(entries: List[Entry], out: str, argv: Sequence[str], backbones=MATRIX_BACKBONES,
               size: int = MATRIX_SIZE, timeout: float = TIMEOUT, redo: bool = False, jobs: int = 1,
               log: Callable[[str], None] = print) -> Dict:
    """Run every entry with every backbone not yet in the record at ``out`` (all with ``redo``),
    ``jobs`` at a time (:func:`run_many`), writing the record after each
    (:func:`restv2_mm.utils.write_json`, atomic). A recorded row
    is run again where the entry's skip changed; rows of the entries' families for another
    config are dropped. SIGTERM stops the run and its child cleanly.

    Returns:
        dict: the record: ``argv``, ``command``, ``versions``, ``rows`` (one per entry and
        backbone: ``library``, ``family``, ``config``, ``backbone``, ``input``, ``outcome``,
        ``fault``, ``reason``, ...).
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM)) if main else None
    try:
        return _run(entries, out, argv, backbones, size, timeout, redo, jobs, log)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _run(entries, out, argv, backbones, size, timeout, redo, jobs, log) -> Dict:
    record = load_record(out, argv)
    todo = [(e, b) for e in entries for b in backbones]
    keys = {(e.library, e.family, e.config, b) for e, b in todo}
    # Rows of these families for another config (a representative changed) are dropped.
    families = {(e.library, e.family) for e in entries}
    record['rows'] = [r for r in record['rows']
                      if (r['library'], r['family']) not in families or row_key(r) in keys]
    done = {row_key(r): i for i, r in enumerate(record['rows'])}

    def recorded(entry, backbone):
        i = done.get((entry.library, entry.family, entry.config, backbone))
        return i is not None and not redo and \
            (record['rows'][i]['outcome'] == 'skipped') == bool(entry.skipped)

    def add(entry, backbone, row, n):
        key = (entry.library, entry.family, entry.config, backbone)
        row = dict(library=entry.library, family=entry.family, config=entry.config,
                   backbone=backbone, input=None if entry.skipped else entry.size or size, **row)
        if key in done:
            record['rows'][done[key]] = row
        else:
            done[key] = len(record['rows'])
            record['rows'].append(row)
        write_json(out, record)
        fault = f' ({row["fault"]})' if row.get('fault') else ''
        log(f'[{n}/{len(todo)}] {entry.library}/{entry.family}/{entry.config} {backbone}: '
            f'{row["outcome"]}{fault}')
        sys.stdout.flush()

    todo = [(e, b) for e, b in todo if not recorded(e, b)]
    runs = [(e, b) for e, b in todo if not e.skipped]
    for n, (entry, backbone) in enumerate(todo, 1):
        if entry.skipped:
            add(entry, backbone, dict(outcome='skipped', reason=entry.skipped), n)
    tasks = [(e, b, e.size or size) for e, b in runs]
    for n, (index, row) in enumerate(run_many(tasks, jobs, timeout), len(todo) - len(runs) + 1):
        add(*runs[index], row, n)
    return record


def selected(record: Dict, library: str, backbone: str, extra: bool = False) -> List[Dict]:
    """Rows of ``library`` and ``backbone``; with ``extra``, only the families' extra variants."""
    from .compat_families import EXTRA
    variants = {(lib, fam, cfg) for lib, fam, cfg in EXTRA}
    return [r for r in record['rows'] if r['library'] == library and r['backbone'] == backbone
            and ((r['library'], r['family'], r['config']) in variants) == extra]


def family_outcomes(record: Dict, library: str,
                    backbones: Optional[Sequence[str]] = None) -> Dict[str, List[str]]:
    """Family -> the outcomes of its representative with each backbone."""
    backbones = backbones or sorted({r['backbone'] for r in record['rows']})
    outcomes: Dict[str, List[str]] = {}
    for backbone in backbones:
        for row in selected(record, library, backbone):
            outcomes.setdefault(row['family'], []).append(row['outcome'])
    return outcomes
