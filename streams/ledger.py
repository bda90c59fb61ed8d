"""A mapping that remembers which of its keys changed, so that saving it costs its changes.

The processors save their stages' memory at every commit (`streams.snapshots`). Most of that
memory is many entries of one kind (orders followed, ids remembered) of which few change
between two commits: kept in a `Ledger`, only those are written again.

A ledger's values are replaced when they change, never changed in place (they are frozen
records and states here): a value changed in place would not be noticed. Its order is kept,
oldest entry first, so it also serves as a bounded first-in, first-out memory (`popitem`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, NamedTuple, TypeVar

__all__ = ["Changes", "Ledger"]

K = TypeVar("K")
V = TypeVar("V")


class Changes(NamedTuple):
    """A ledger's changes since they were last taken: the keys set (in their order in the
    ledger, new ones last), the keys removed, and the whole order of keys where an entry was
    removed and set again (it moved to the end), else None."""

    changed: list[Any]
    removed: list[Any]
    order: list[Any] | None


class Ledger(MutableMapping[K, V]):
    __slots__ = ("_changed", "_entries", "_moved", "_removed")

    def __init__(self, entries: Iterable[tuple[K, V]] = ()) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._changed: dict[K, None] = {}  # an ordered set: keys in the order first changed
        self._removed: set[K] = set()
        self._moved = False
        self.update(entries)

    # Writes go through these three, which note the change; `pop`, `popitem`, `setdefault`,
    # `update` and `clear` come from MutableMapping and use them.
    def __setitem__(self, key: K, value: V) -> None:
        entries = self._entries
        if key not in entries and key in self._removed:
            self._moved = True
        entries[key] = value
        self._changed[key] = None

    def __delitem__(self, key: K) -> None:
        del self._entries[key]
        self._changed.pop(key, None)
        self._removed.add(key)

    def take_changes(self) -> Changes:
        """The changes since the last call (or since the ledger was made), and forget them."""
        entries = self._entries
        removed = [key for key in self._removed if key not in entries]
        changes = Changes(list(self._changed), removed, list(entries) if self._moved else None)
        self._changed, self._removed, self._moved = {}, set(), False
        return changes

    # Reads go straight to the entries: these run for every record a stage handles.
    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    def get(self, key: K, default: Any = None) -> Any:
        return self._entries.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> KeysView[K]:
        return self._entries.keys()

    def values(self) -> ValuesView[V]:
        return self._entries.values()

    def items(self) -> Any:
        return self._entries.items()

    def __repr__(self) -> str:
        return f"Ledger({list(self._entries.items())!r})"
