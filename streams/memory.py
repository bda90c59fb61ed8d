"""A stage's durable memory as keyed entries: what a save writes and a restore reads.

A live processor keeps each partition's memory in a compacted changelog topic, one record per
key, so a save costs what changed and a restore reads the latest value of each key. A stage
names what it remembers in `durable` (attribute paths, a dotted one reaching into a member);
each attribute's annotation says how it is kept:

- a `Ledger` or a `RecentIds`: one entry per key, its value with its place in the ledger (a
  number, oldest lowest), so that a restore gives the ledger back its order;
- a dict: one entry per item, a dict of dicts one per innermost item; an item that holds a
  `durable` of its own (a simulated venue, an account) is kept as entries under its key;
- a list kept in time order and marked `Annotated[list[...], Series(...)]` (a market tape):
  one entry per bucket of time, so that an entry stays small however long the list grows;
- anything else: one entry.

Keys are text: the attribute's path (leading underscores left out), `/`, the item's key, with
`/` and `%` escaped in every key but the last. Values are MessagePack, written by msgspec from
the annotations (streams/state_codec.py). docs/CONTRACTS.md ("Processor state") is the
reference.

A save finds what changed without looking at what did not, where the memory is large: a ledger
notes the keys set, removed and touched (changed in place by their owner); an item of an
immutable type that is still the object last written is skipped; any other is encoded, and
written if its bytes changed.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import typing
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import Any, NamedTuple
from urllib.parse import unquote

from fillstream.domain.ids import RecentIds
from fillstream.domain.ledger import Ledger
from fillstream.streams.stages import Stage
from fillstream.streams.state_codec import NOTE, Codec, codec_of, decoder, pack

__all__ = ["Memory", "Series"]


@dataclass(frozen=True)
class Series:
    """Marks a list kept in time order (`time` of each item, µs) as saved one entry per
    `bucket_us` of time, keyed by the bucket's start. Its items are immutable: a bucket whose
    items are the same objects as when last written is not written again."""

    time: Callable[[Any], int]
    bucket_us: int


class Memory:
    """A stage's durable memory as keyed entries: what a save writes and a restore reads.

    One `Memory` per stage: a ledger's changes are taken once, by whoever asks first.
    """

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._parts = _parts_of(stage, "")

    def changes(self) -> tuple[dict[bytes, bytes], list[bytes]]:
        """The entries set since the last call (key -> encoded value) and the keys removed.
        The first call on a fresh Memory returns every entry."""
        puts: dict[bytes, bytes] = {}
        removed: list[bytes] = []
        with _no_collection():
            for part in self._parts:
                part.changes(puts, removed)
        return puts, [key for key in removed if key not in puts]

    def restore(self, entries: Mapping[bytes, bytes]) -> None:
        """Give the freshly built stage (the one passed at init) the memory these entries hold
        (the latest value of each key, as read back from the changelog); afterwards changes()
        reports only what the stage changes from then on.

        Keys this memory does not know (a part a later version added, or dropped) are left
        alone, as a reader ignores a field it does not know.
        """
        with _no_collection():
            entries = {key.decode(): value for key, value in entries.items()}
            _restore_parts(self._stage, self._parts, entries)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector waits until the end: a restore (and a first save) makes
    objects by the hundred thousand and frees almost none, and the collections they would
    start on the way took two thirds of a restore's time."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# -- keys ----------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """A key's text as one segment of a longer key: `/` and `%` percent-escaped."""
    if "/" in text or "%" in text:
        return text.replace("%", "%25").replace("/", "%2F")
    return text


@functools.lru_cache(maxsize=4096)  # the same few (venues, symbols) over and over
def _unescape(segment: str) -> str:
    return unquote(segment) if "%" in segment else segment


class _Key(NamedTuple):
    """How the keys of a mapping are written in entry keys and read back."""

    text: Callable[[Any], str]
    parse: Callable[[str], Any]


def _key_of(tp: Any) -> _Key:
    if tp is str:
        return _Key(str, str)
    if tp is int:
        return _Key(str, int)
    if tp is Decimal:
        return _Key(str, Decimal)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _Key(attrgetter("value"), tp)
    if typing.get_origin(tp) is tuple and all(arg is str for arg in typing.get_args(tp)):
        size = len(typing.get_args(tp))

        def text(key: tuple[str, ...]) -> str:
            return "/".join([*map(_escape, key[:-1]), key[-1]])

        def parse(text: str) -> tuple[str, ...]:
            *head, last = text.split("/", size - 1)
            return (*map(_unescape, head), last)

        return _Key(text, parse)
    raise TypeError(f"{tp!r} cannot key saved entries (str, int, Decimal, an enum, str tuples)")


# -- parts ---------------------------------------------------------------------------------------


class _Slot:
    """An attribute reached by a dotted path from an owner, looked up anew at each use (a
    member may be replaced)."""

    def __init__(self, owner: Any, path: str) -> None:
        holder, _, self.attribute = path.rpartition(".")
        self.owner = owner
        self._holder = attrgetter(holder) if holder else None

    def holder(self) -> Any:
        return self._holder(self.owner) if self._holder is not None else self.owner

    def get(self) -> Any:
        return getattr(self.holder(), self.attribute)

    def set(self, value: Any) -> None:
        setattr(self.holder(), self.attribute, value)


class _Part:
    """What one durable attribute is as entries. `changes` adds what changed since the last
    call (everything on the first); `restore` takes the part's entries, by the rest of their
    key after the part's name and `/` ("" for the part's own entry), and counts the state it
    leaves as saved; `keys` are the keys of what it last wrote."""

    def __init__(self, name: str) -> None:
        self.name = name  # the whole name, under the names of the items it is in
        self.local = name.rpartition("/")[2]  # its name among its owner's parts

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        raise NotImplementedError

    def restore(self, entries: dict[str, bytes]) -> None:
        raise NotImplementedError

    def keys(self) -> Iterator[bytes]:
        raise NotImplementedError


_NOTHING: Any = object()


class _ValuePart(_Part):
    """One entry, written when its bytes change (not encoded again while the value is the
    same object, if of an immutable type)."""

    def __init__(self, name: str, slot: _Slot, codec: Codec) -> None:
        super().__init__(name)
        self.slot, self.codec = slot, codec
        self.key = name.encode()
        self.decode = decoder(codec.wire)
        self.last: Any = _NOTHING
        self.bytes: bytes | None = None

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        value = self.slot.get()
        if value is self.last and self.codec.immutable:
            return
        data = self._encode(value)
        if data != self.bytes:
            puts[self.key] = data
        self.last, self.bytes = value, data

    def _encode(self, value: Any) -> bytes:
        out = self.codec.out
        return pack(value if out is None else out(value))

    def restore(self, entries: dict[str, bytes]) -> None:
        data = entries.get("")
        if data is not None:
            value = self.decode(data)
            if self.codec.back is not None:
                value = self.codec.back(value)
            current = self.slot.get()
            if isinstance(current, deque):
                value = deque(value, current.maxlen)
            self.slot.set(value)
        value = self.slot.get()
        self.last, self.bytes = value, self._encode(value)

    def keys(self) -> Iterator[bytes]:
        if self.bytes is not None:
            yield self.key


class _Held(dict[Any, Any]):
    """A dict's items as last written, `(value, bytes, key text)` by key, with the identities
    of its keys and values then: while they are the same objects (of immutable types), the
    items are as written, and a save need not look at each."""

    __slots__ = ("shape",)

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[list[int], list[int]] | None = None


class _ItemsPart(_Part):
    """A dict, one entry per item; a dict of dicts, one per innermost item (as many levels of
    keys as `keys` has). An item is written when its bytes or its key's text change; items of
    an immutable type are not encoded again while they are the same objects."""

    def __init__(self, name: str, slot: _Slot, keys: list[_Key], codec: Codec) -> None:
        super().__init__(name)
        self.slot, self.key_types, self.codec = slot, keys, codec
        self.decode = decoder(codec.wire)
        self.last: dict[Any, Any] = {}  # as the dict, a `_Held` at the innermost level

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        self.last = self._diff(self.slot.get(), self.last, self.name + "/", 0, puts, removed)

    def _diff(
        self,
        current: dict[Any, Any],
        last: dict[Any, Any],
        prefix: str,
        level: int,
        puts: dict[bytes, bytes],
        removed: list[bytes],
    ) -> dict[Any, Any]:
        text = self.key_types[level].text
        if level + 1 < len(self.key_types):
            kept: dict[Any, Any] = {}
            for key, inner in current.items():
                below = f"{prefix}{_escape(text(key))}/"
                kept[key] = self._diff(inner, last.get(key, {}), below, level + 1, puts, removed)
            for key in last.keys() - current.keys():
                removed.extend(self._keys(last[key], prefix, key, level))
            return kept
        immutable, out = self.codec.immutable, self.codec.out
        shape = None
        if immutable:
            shape = (list(map(id, current)), list(map(id, current.values())))
            if isinstance(last, _Held) and last.shape == shape:
                return last
        held = _Held()
        for key, value in current.items():
            before = last.get(key)
            if before is not None and before[0] is value and immutable:
                held[key] = before
                continue
            key_text = text(key)
            data = pack(value if out is None else out(value))
            if before is None or before[1] != data or before[2] != key_text:
                puts[(prefix + key_text).encode()] = data
                if before is not None and before[2] != key_text:
                    removed.append((prefix + before[2]).encode())
            held[key] = (value, data, key_text)
        for key in last.keys() - current.keys():
            removed.append((prefix + last[key][2]).encode())
        held.shape = shape
        return held

    def _keys(self, last: Any, prefix: str, key: Any, level: int) -> Iterator[bytes]:
        if level + 1 < len(self.key_types):
            below = f"{prefix}{_escape(self.key_types[level].text(key))}/"
            for inner, value in last.items():
                yield from self._keys(value, below, inner, level + 1)
        else:
            yield (prefix + last[2]).encode()

    def restore(self, entries: dict[str, bytes]) -> None:
        current = self.slot.get()
        depth = len(self.key_types)
        back = self.codec.back
        for rest, data in entries.items():
            segments = rest.split("/", depth - 1)
            if len(segments) < depth:
                continue
            *outer, last = segments
            target = current
            for key_type, segment in zip(self.key_types, outer, strict=False):
                target = target.setdefault(key_type.parse(_unescape(segment)), {})
            value = self.decode(data)
            target[self.key_types[-1].parse(last)] = value if back is None else back(value)
        self.last = self._diff(current, {}, self.name + "/", 0, {}, [])

    def keys(self) -> Iterator[bytes]:
        for key, last in self.last.items():
            yield from self._keys(last, self.name + "/", key, 0)


class _SeriesPart(_Part):
    """A list in time order, one entry per bucket of time (see `Series`)."""

    def __init__(self, name: str, slot: _Slot, item: Any, series: Series) -> None:
        super().__init__(name)
        self.slot, self.series = slot, series
        self.codec = codec_of(list[item])  # type: ignore[valid-type]
        if not codec_of(item).immutable:
            raise TypeError(f"{name}: the items of a series are immutable, not {item!r}")
        self.decode = decoder(self.codec.wire)
        self.prefix = name + "/"
        self.last: dict[int, tuple[list[int], list[Any]]] = {}  # by bucket: ids, items

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        items = self.slot.get()
        time, size, out = self.series.time, self.series.bucket_us, self.codec.out
        last, kept = self.last, {}
        start, count = 0, len(items)
        while start < count:
            bucket = time(items[start]) // size * size
            end = bisect_left(items, bucket + size, start, count, key=time)
            chunk = items[start:end]
            ids = list(map(id, chunk))
            before = last.get(bucket)
            if before is None or before[0] != ids:
                puts[f"{self.prefix}{bucket}".encode()] = pack(chunk if out is None else out(chunk))
            kept[bucket] = (ids, chunk)
            start = end
        for bucket in last.keys() - kept.keys():
            removed.append(f"{self.prefix}{bucket}".encode())
        self.last = kept

    def restore(self, entries: dict[str, bytes]) -> None:
        back = self.codec.back
        chunks = []
        for rest, data in entries.items():
            chunk = self.decode(data)
            chunks.append((int(rest), chunk if back is None else back(chunk)))
        chunks.sort(key=_place)
        items = self.slot.get()
        items[:] = [item for _, chunk in chunks for item in chunk]
        self.changes({}, [])

    def keys(self) -> Iterator[bytes]:
        for bucket in self.last:
            yield f"{self.prefix}{bucket}".encode()


class _LedgerPart(_Part):
    """A `Ledger` (or the ledger of a `RecentIds`), one entry per key: its value is its place
    (a number, in the ledger's order) and the ledger's value, `[place, value]`."""

    def __init__(
        self, name: str, get: Callable[[], Ledger[Any, Any]], key: _Key, codec: Codec
    ) -> None:
        super().__init__(name)
        self.get, self.key, self.codec = get, key, codec
        self.prefix = name + "/"
        self.decode = decoder(tuple[int, codec.wire])
        self.ledger: Ledger[Any, Any] | None = None
        self.places: dict[Any, int] = {}
        self.next = 0

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        ledger = self.get()
        places, prefix, text = self.places, self.prefix, self.key.text
        if ledger is not self.ledger:  # the first call, or a ledger put in the place of another
            ledger.take_changes()
            removed.extend((prefix + text(key)).encode() for key in places if key not in ledger)
            places.clear()
            self.ledger = ledger
            changed = added = list(ledger)
        else:
            changed, added, gone = ledger.take_changes()
            for key in gone:
                if places.pop(key, None) is not None:
                    removed.append((prefix + text(key)).encode())
        number = self.next
        for key in added:
            places[key] = number
            number += 1
        self.next = number
        out = self.codec.out
        if out is None:
            for key in changed:
                puts[(prefix + text(key)).encode()] = pack((places[key], ledger[key]))
        else:
            for key in changed:
                puts[(prefix + text(key)).encode()] = pack((places[key], out(ledger[key])))

    def restore(self, entries: dict[str, bytes]) -> None:
        ledger = self.get()
        decode, parse, back = self.decode, self.key.parse, self.codec.back
        rows = []
        for rest, data in entries.items():
            place, value = decode(data)
            rows.append((place, parse(rest), value if back is None else back(value)))
        rows.sort(key=_place)
        for _, key, value in rows:
            ledger[key] = value
        ledger.take_changes()
        self.ledger = ledger
        self.places = {key: place for place, key, _ in rows}
        self.next = rows[-1][0] + 1 if rows else 0
        for key in ledger:  # any the entries did not hold go after them
            if key not in self.places:
                self.places[key] = self.next
                self.next += 1

    def keys(self) -> Iterator[bytes]:
        for key in self.places:
            yield (self.prefix + self.key.text(key)).encode()


def _place(row: tuple[Any, ...]) -> int:
    return row[0]


class _NestedPart(_Part):
    """A dict of items that each name a `durable` of their own: each item's entries under
    its key (`name/key/...`). An item found in the entries but missing from the fresh stage
    is made with no arguments, or left out where its class needs some."""

    def __init__(self, name: str, slot: _Slot, key: _Key, cls: type) -> None:
        super().__init__(name)
        self.slot, self.key, self.cls = slot, key, cls
        self.children: dict[Any, tuple[Any, list[_Part]]] = {}

    def _parts(self, key: Any, item: Any) -> list[_Part]:
        held = self.children.get(key)
        if held is None or held[0] is not item:
            held = self.children[key] = (item, _parts_of(item, self._prefix(key)))
        return held[1]

    def _prefix(self, key: Any) -> str:
        return f"{self.name}/{_escape(self.key.text(key))}/"

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        items = self.slot.get()
        for key, item in items.items():
            held = self.children.get(key)
            if held is not None and held[0] is not item:
                for part in held[1]:
                    removed.extend(part.keys())
            for part in self._parts(key, item):
                part.changes(puts, removed)
        for key in [key for key in self.children if key not in items]:
            for part in self.children.pop(key)[1]:
                removed.extend(part.keys())

    def restore(self, entries: dict[str, bytes]) -> None:
        items = self.slot.get()
        grouped: dict[Any, dict[str, bytes]] = {}
        for rest, data in entries.items():
            segment, _, inner = rest.partition("/")
            grouped.setdefault(self.key.parse(_unescape(segment)), {})[inner] = data
        for key, inner in grouped.items():
            if key not in items:
                try:
                    items[key] = self.cls()
                except TypeError:
                    continue  # configuration makes it (a venue no longer configured)
            item = items[key]
            _restore_parts(item, self._parts(key, item), inner)
        for key, item in items.items():
            if key not in grouped:
                _restore_parts(item, self._parts(key, item), {})

    def keys(self) -> Iterator[bytes]:
        for _, parts in self.children.values():
            for part in parts:
                yield from part.keys()


def _parts_of(owner: Any, prefix: str) -> list[_Part]:
    """The parts of what `owner` names durable, their names under `prefix`."""
    parts = []
    for path in owner.durable:
        slot = _Slot(owner, path)
        name = prefix + ".".join(segment.lstrip("_") for segment in path.split("."))
        parts.append(_part(name, slot, _hint(slot)))
    return parts


_HINTS: dict[type, dict[str, Any]] = {}


def _hint(slot: _Slot) -> Any:
    holder = type(slot.holder())
    hints = _HINTS.get(holder)
    if hints is None:
        hints = _HINTS[holder] = typing.get_type_hints(holder, include_extras=True)
    if slot.attribute not in hints:
        raise TypeError(f"{holder.__name__}.{slot.attribute} is durable but not annotated")
    return hints[slot.attribute]


def _part(name: str, slot: _Slot, hint: Any) -> _Part:
    if typing.get_origin(hint) is typing.Annotated:
        hint, *marks = typing.get_args(hint)
        series = [mark for mark in marks if isinstance(mark, Series)]
        if series and typing.get_origin(hint) is list:
            return _SeriesPart(name, slot, typing.get_args(hint)[0], series[0])
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Ledger:
        return _LedgerPart(name, slot.get, _key_of(args[0]), codec_of(args[1]))
    if hint is RecentIds:
        return _LedgerPart(name, lambda: slot.get().ledger, _key_of(str), NOTE)
    if origin is dict:
        if isinstance(args[1], type) and hasattr(args[1], "durable"):
            return _NestedPart(name, slot, _key_of(args[0]), args[1])
        keys = [_key_of(args[0])]
        while typing.get_origin(args[1]) is dict:
            args = typing.get_args(args[1])
            keys.append(_key_of(args[0]))
        return _ItemsPart(name, slot, keys, codec_of(args[1]))
    return _ValuePart(name, slot, codec_of(hint))


def _restore_parts(owner: Any, parts: Iterable[_Part], entries: dict[str, bytes]) -> None:
    """Give each part its entries (keyed by the rest of their key), then let `owner` rebuild
    what it derives from its memory (`restored`, where it has one)."""
    grouped: dict[str, dict[str, bytes]] = {}
    for key, data in entries.items():
        name, _, rest = key.partition("/")
        grouped.setdefault(name, {})[rest] = data
    for part in parts:
        part.restore(grouped.get(part.local, {}))
    restored = getattr(owner, "restored", None)
    if restored is not None:
        restored()
