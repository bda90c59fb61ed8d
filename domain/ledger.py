"""A mapping that remembers which of its keys changed, so that saving it costs its changes.

The processors save their stages' memory as keyed entries (`streams.memory`). Most of that
memory is many entries of one kind (orders followed, ids remembered) of which few change
between two saves: kept in a `Ledger`, only those are written again.

A value replaced is noted; a value changed in place is noted only when its owner says so
(`touch`). Its order is kept, oldest entry first, so it also serves as a bounded first-in,
first-out memory (`popitem`); keys added since the last save come last, in their order, so a
save can number them and a restore put every key back in its place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, NamedTuple, TypeVar

__all__ = ["Changes", "Ledger"]

K = TypeVar("K")
V = TypeVar("V")
_ABSENT: Any = object()


class Changes(NamedTuple):
    """A ledger's changes since they were last taken: the keys set or touched (present now),
    of those the keys added (absent when last taken, or removed and set again since), in
    their order in the ledger, which is at its end; and the keys removed (present when last
    taken, absent now)."""

    changed: list[Any]
    added: list[Any]
    removed: list[Any]


class Ledger(MutableMapping[K, V]):
    __slots__ = ("_added", "_changed", "_entries", "_removed")

    def __init__(self, entries: Iterable[tuple[K, V]] = ()) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._changed: dict[K, None] = {}  # an ordered set
        self._added: dict[K, None] = {}  # an ordered set: the keys at the end, in order
        self._removed: set[K] = set()
        self.update(entries)

    # Writes go through these two, which note the change; `pop`, `popitem`, `setdefault`,
    # `update` and `clear` come from MutableMapping and use them.
    def __setitem__(self, key: K, value: V) -> None:
        entries = self._entries
        if key not in entries:
            self._added[key] = None
        entries[key] = value
        self._changed[key] = None

    def __delitem__(self, key: K) -> None:
        del self._entries[key]
        self._changed.pop(key, None)
        if self._added.pop(key, _ABSENT) is _ABSENT:
            # There when the changes were last taken. A key added since and removed again was
            # never saved: not noted, so a ledger whose changes nobody takes (a replay) does
            # not hold every key it ever had.
            self._removed.add(key)

    def touch(self, key: K) -> None:
        """Note that the value of `key` changed in place (nothing if `key` is absent)."""
        if key in self._entries:
            self._changed[key] = None

    def take_changes(self) -> Changes:
        """The changes since the last call (or since the ledger was made), and forget them."""
        entries = self._entries
        removed = [key for key in self._removed if key not in entries]
        changes = Changes(list(self._changed), list(self._added), removed)
        self._changed, self._added, self._removed = {}, {}, set()
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
