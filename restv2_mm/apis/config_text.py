"""A config file as a person writes one: ``_base_``, then ``name = dict(key=value, ...)`` in the
order the settings were made, short values on one line, ``_delete_`` first."""
from typing import Any, Iterable, Mapping, Sequence

WIDTH = 100


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return 'dict(' + ', '.join(f'{k}={_inline(v)}' for k, v in _ordered(value)) + ')'
    if isinstance(value, list):
        return '[' + ', '.join(_inline(v) for v in value) + ']'
    if isinstance(value, tuple):
        return '(' + ', '.join(_inline(v) for v in value) + (',)' if len(value) == 1 else ')')
    return repr(value)


def _ordered(mapping: Mapping) -> Iterable:
    items = list(mapping.items())
    return [kv for kv in items if kv[0] == '_delete_'] + [kv for kv in items if kv[0] != '_delete_']


def format_value(value: Any, indent: int = 0, column: int = 0) -> str:
    """``value`` as Python source starting at ``column`` of a line indented by ``indent``: on one
    line where it fits in ``WIDTH`` columns, else one key (or item) per line, indented by four
    more."""
    line = _inline(value)
    if column + len(line) <= WIDTH or not isinstance(value, (Mapping, list, tuple)) or not value:
        return line
    inner = indent + 4
    if isinstance(value, Mapping):
        body = [f'{" " * inner}{k}={format_value(v, inner, inner + len(str(k)) + 1)}'
                for k, v in _ordered(value)]
        return 'dict(\n' + ',\n'.join(body) + ')'
    open_, close = ('[', ']') if isinstance(value, list) else ('(', ')')
    return open_ + '\n' + ',\n'.join(' ' * inner + format_value(v, inner, inner) for v in value) + close


def config_text(base: str, settings: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """The text of a config that inherits ``base`` and sets ``settings`` (top-level name ->
    value, overrides merged as mmengine merges a child config), after ``header`` comment lines.

    Raises:
        ValueError: a top-level name that is not a Python identifier.
    """
    bad = [k for k in settings if not str(k).isidentifier()]
    if bad:
        raise ValueError(f'config settings must be Python names, got {bad}')
    lines = [f'# {h}'.rstrip() for h in header]
    lines.append(f'_base_ = {base!r}')
    lines += [f'{k} = {format_value(v, 0, len(k) + 3)}' for k, v in settings.items()]
    return '\n'.join(lines) + '\n'
