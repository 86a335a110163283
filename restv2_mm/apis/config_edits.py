"""Changes to a stock config, kept as mmengine inherits them: a tree of overrides that a child
config (or ``Config.merge_from_dict``) applies to its ``_base_``, with the old and new value of
each setting."""
import copy
from typing import Any, List, NamedTuple, Sequence, Union

from mmengine.config import Config

Key = Union[str, int]
MISSING = object()


class Change(NamedTuple):
    """One setting: its path (``'model.neck.in_channels'``), the stock and the new value, why."""
    field: str
    old: Any
    new: Any
    why: str


def plain(value: Any, drop: Sequence[str] = ()) -> Any:
    """``value`` with every ConfigDict a dict, every list element converted the same way, and the
    keys ``drop`` left out (``'_scope_'``, which a config inheriting ``mmdet::...`` gains)."""
    if isinstance(value, dict):
        return {k: plain(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v, drop) for v in value)
    return value


def field_name(path: Sequence[Key]) -> str:
    """``('model', 'auxiliary_head', 1, 'in_channels')`` -> ``'model.auxiliary_head[1].in_channels'``."""
    name = ''
    for key in path:
        name += f'[{key}]' if isinstance(key, int) else (f'.{key}' if name else key)
    return name


def lookup(tree: Any, path: Sequence[Key], default: Any = MISSING) -> Any:
    """The value at ``path`` in nested dicts and lists, or ``default``."""
    for key in path:
        try:
            tree = tree[key]
        except (KeyError, IndexError, TypeError):
            return default
    return tree


class ConfigEdits:
    """Overrides of a stock config, recorded as they are set.

    Dicts merge into the stock ones key by key, as a child config's do; a list (``neck=[FPN,
    BFP]``, ``auxiliary_head=[...]``) is replaced whole, as mmengine replaces lists, so the first
    edit inside one copies the stock list into the overrides.

    Args:
        stock: The stock config (a Config, or its dict).
    """

    def __init__(self, stock: Union[Config, dict]):
        self.stock = plain(stock.to_dict() if isinstance(stock, Config) else stock)
        self.tree: dict = {}
        self.changes: List[Change] = []

    def get(self, path: Sequence[Key], default: Any = MISSING) -> Any:
        """The stock value at ``path``."""
        return lookup(self.stock, path, default)

    def set(self, path: Sequence[Key], value: Any, why: str = '') -> None:
        """Set ``path`` to ``value`` (a dict with ``_delete_=True`` replaces the stock dict).

        Raises:
            KeyError: ``path`` passes through a setting the stock config does not have.
        """
        node, src, copied = self.tree, self.stock, False
        for i, key in enumerate(path[:-1]):
            src = lookup(src, [key])
            if src is MISSING:
                raise KeyError(f'{field_name(path[:i + 1])} is not in the stock config')
            if copied:
                node = node[key]
            elif isinstance(src, (list, tuple)):
                if key not in node:
                    node[key] = copy.deepcopy(list(src))
                node, copied = node[key], True
            else:
                node = node.setdefault(key, {})
        node[path[-1]] = value
        self.changes.append(Change(field_name(path), self.get(path, None), value, why))

    def apply(self, cfg: Config) -> Config:
        """A copy of ``cfg`` with the overrides merged in, as a child config inheriting it."""
        new = copy.deepcopy(cfg)
        new.merge_from_dict(copy.deepcopy(self.tree))
        return new

