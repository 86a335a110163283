"""The compatibility matrix's record rendered: one table per library, the reasons of the failures,
the skipped families, and the one-line summary README.md quotes (:mod:`.compat_matrix`)."""
import re
from typing import Dict, List, Optional, Sequence

from ..utils import markdown_table, record_header
from .compat_families import Entry
from .compat_matrix import family_outcomes, row_key, selected

# mmcv's message for an op without a CPU kernel, and the like.
CUDA_ONLY = re.compile(r'for device cpu not found|only supports? (CUDA|GPU)|requires CUDA', re.I)
ARCH_LETTERS = {'tiny': 'T', 'small': 'S', 'base': 'B', 'large': 'L', 'lite': 'Lite'}
LIBRARY_WORDS = {'mmdet': 'mmdet config families', 'mmseg': 'mmseg methods'}


def backbone_title(name: str) -> str:
    """``'restv2-tiny'`` -> ``'ResTv2-T'``, ``'rmt-swin-small'`` -> ``'RMT-Swin-S'``."""
    family, arch = name.rsplit('-', 1)
    words = {'restv2': 'ResTv2', 'restv1': 'ResTv1', 'rmt': 'RMT', 'rmt-swin': 'RMT-Swin'}
    return f'{words.get(family, family)}-{ARCH_LETTERS.get(arch, arch)}'


def _backbones(record: Dict) -> List[str]:
    seen: List[str] = []
    for row in record['rows']:
        if row['backbone'] not in seen:
            seen.append(row['backbone'])
    return seen


def _cell(row: Dict) -> str:
    if row['outcome'] == 'works':
        return 'works'
    if row['outcome'] == 'skipped':
        return 'skipped'
    fault = row.get('fault')
    if fault == 'framework':
        fault = f'needs `{row.get("field")}`'
    elif fault == 'stock' and CUDA_ONLY.search(row.get('reason', '')):
        fault = 'stock, CUDA-only op'
    return f'**fails** ({fault})'


def _rewrites(row: Dict) -> str:
    fields = []
    for field in row.get('rewritten') or []:
        short = field.split('model.', 1)[-1]
        short = 'normalisation' if short.startswith('data_preprocessor.') else short
        if short not in fields:
            fields.append(short)
    return ', '.join(f'`{f}`' if f != 'normalisation' else f for f in fields) or '-'


def _table(record: Dict, library: str, backbones: Sequence[str], extra: bool) -> str:
    by_key: Dict[tuple, Dict[str, Dict]] = {}
    for backbone in backbones:
        for row in selected(record, library, backbone, extra):
            if row['outcome'] != 'skipped':
                by_key.setdefault((row['family'], row['config']), {})[backbone] = row
    rows = []
    for (family, config), cells in sorted(by_key.items()):
        first = cells[backbones[0]] if backbones[0] in cells else next(iter(cells.values()))
        levels = first.get('out_indices')
        rows.append([family, f'`{config}`'] + [_cell(cells[b]) if b in cells else '-' for b in backbones]
                    + [str(tuple(levels)) if levels else '-', _rewrites(first)])
    header = ['family', 'config'] + [backbone_title(b) for b in backbones] + ['our levels', 'rewritten']
    return markdown_table(header, rows)


def _reasons(record: Dict, library: str) -> str:
    lines = []
    for row in sorted(record['rows'], key=lambda r: (r['family'], r['config'] or '', r['backbone'])):
        if row['library'] == library and row['outcome'] == 'fails':
            text = row['reason']
            if row.get('fault') == 'stock' and row.get('stock_reason'):
                text += f' (the stock config: {row["stock_reason"]})'
            where = f' at `{row["where"]}`' if row.get('where') else ''
            lines.append(f'- {row["family"]} (`{row["config"]}`), {backbone_title(row["backbone"])}: '
                         f'{text.replace("|", "/")}{where}')
    return '\n'.join(lines) + '\n' if lines else 'None.\n'


def not_run(record: Dict, entries: Sequence[Entry]) -> List[Entry]:
    """The entries without a row for every backbone of ``record`` (a run not yet complete)."""
    keys = {row_key(r) for r in record['rows']}
    return [e for e in entries
            if any((e.library, e.family, e.config, b) not in keys for b in _backbones(record))]


def render_matrix(record: Dict, entries: Optional[Sequence[Entry]] = None) -> str:
    """The page's tables: per library the representatives, the extra variants, why each failure
    failed; then the skipped families and, given the matrix's ``entries``, those not run yet."""
    backbones = _backbones(record)
    versions = ', '.join(f'{k} {v}' for k, v in record.get('versions', {}).items() if k != 'torch')
    parts = [record_header(record, 'tools/analysis_tools/compat_matrix.py').replace(
        '.\n', f'; {versions}.\n', 1)]
    for library in ('mmdet', 'mmseg'):
        parts.append(f'#### {library}\n\n{_table(record, library, backbones, False)}')
        if any(selected(record, library, b, True) for b in backbones):
            parts.append(f'Variants:\n\n{_table(record, library, backbones, True)}')
        parts.append(f'Failures:\n\n{_reasons(record, library)}')
    skipped = sorted({(r['library'], r['family'], r['reason']) for r in record['rows']
                      if r['outcome'] == 'skipped'})
    parts.append('#### Skipped\n\n' + markdown_table(['library', 'family', 'why'],
                                                     [[lib, fam, why] for lib, fam, why in skipped]))
    pending = not_run(record, entries or [])
    if pending:
        names = ', '.join(f'{e.library}/{e.family}' + (f' (`{e.config}`)' if e.config else '')
                          for e in pending)
        parts.append(f'#### Not run yet\n\n{len(pending)} of the {len(entries)} entries, which `make matrix` '
                     f'runs next: {names}.\n')
    return '\n'.join(parts)


def matrix_summary(record: Dict, link: str = 'docs/compatibility.md',
                   entries: Optional[Sequence[Entry]] = None) -> str:
    """One line: in how many families of each library every backbone of the record works (and,
    given the matrix's ``entries``, how many are not run yet)."""
    backbones = _backbones(record)
    counts = []
    for library in ('mmdet', 'mmseg'):
        outcomes = {f: o for f, o in family_outcomes(record, library, backbones).items()
                    if 'skipped' not in o}
        works = sum(all(x == 'works' for x in o) for o in outcomes.values())
        counts.append(f'{works} of the {len(outcomes)} {LIBRARY_WORDS[library]}')
    names = ' and '.join(backbone_title(b) for b in backbones)
    pending = len(not_run(record, entries or []))
    pending = f' ({pending} of the {len(entries or [])} entries not run yet)' if pending else ''
    return (f'{names} swapped into stock configs (`tools/misc/swap_backbone.py`) train and infer in '
            f'{counts[0]} and {counts[1]} that train on images{pending} '
            f'([the compatibility matrix]({link})).\n')
