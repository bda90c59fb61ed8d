"""A stage's memory, saved as what changed since the last save, and brought back.

A live processor saves each partition's stage at every commit (`streams.runtime`), in the
partition's state store and the same transaction as its offsets and outputs. What a stage
holds grows with the orders in flight and the ids it remembers, megabytes for a busy
partition; saving all of it at every commit took most of the desk's time under load, and each
save travelled again through the store's changelog topic. So a save holds what changed:

- of each `Ledger` in the memory, the entries set and the keys removed since the last save;
- the rest of the memory pickled whole (it is small), each ledger in it by reference, each
  record (records are frozen) pickled once and its bytes copied by later saves, and slotted
  dataclasses as their field values (their generated `__getstate__` lists the class's fields
  anew for every object, which once took a sixth of the desk's time).

The store holds a base and the log of saves since (`write`, `read`). When the log outgrows
the base, the save becomes a new base, made from the bytes of the last saves rather than by
pickling again, and the log is emptied: a save costs on average at most twice what changed,
and a restore reads at most twice the memory.
"""

from __future__ import annotations

import io
import itertools
import pickle
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from fillstream.schemas.models import Record
from fillstream.streams.ledger import Ledger
from fillstream.streams.stages import Stage

__all__ = ["MemoryStore", "Save", "Snapshots", "Store", "read", "restore", "write"]


class Save(NamedTuple):
    """One save of a stage: a base (the whole memory) or the changes since the last save."""

    base: bool
    data: bytes


@dataclass
class _Kept:
    """A ledger as the saves so far hold it: each entry's pickled value, in the ledger's order."""

    ledger: Ledger  # held, so that its id() is not reused by another object
    number: int
    entries: dict[Any, bytes] = field(default_factory=dict)


class Snapshots:
    """Successive saves of one stage: the first is a base, each later one its changes."""

    def __init__(self) -> None:
        self._records: dict[int, tuple[Record, bytes]] = {}
        self._kept: dict[int, _Kept] = {}  # by id() of the ledger
        self._numbers = itertools.count()
        self._memory: bytes | None = None

    def take(self, stage: Stage) -> Save:
        base = self._memory is None
        records: dict[int, tuple[Record, bytes]] = {}
        met: dict[int, _Kept] = {}
        buffer = io.BytesIO()
        pickler = _MemoryPickler(buffer, self._records, records, self._kept, met, self._numbers)
        pickler.dump({name: attrgetter(name)(stage) for name in stage.durable})
        memory = buffer.getvalue()
        entries = _EntryPickler(self._records, records)
        changed: dict[int, tuple[dict[Any, bytes], list[Any], list[Any] | None]] = {}
        for key, kept in met.items():
            new = key not in self._kept
            changes = kept.ledger.take_changes()
            ledger = kept.ledger
            puts = {k: entries.dumps(ledger[k]) for k in (ledger if new else changes.changed)}
            for k in changes.removed:
                kept.entries.pop(k, None)
            kept.entries.update(puts)
            order = None if new else changes.order
            if order is not None:
                kept.entries = {k: kept.entries[k] for k in order}
            if new or puts or changes.removed or order is not None:
                changed[kept.number] = (puts, changes.removed, order)
        dropped = [kept.number for key, kept in self._kept.items() if key not in met]
        self._kept, self._records = met, records
        unchanged = memory == self._memory
        self._memory = memory
        return Save(base, pickle.dumps((None if unchanged else memory, changed, dropped)))

    def image(self) -> Save:
        """The whole memory as of the last `take`, from the bytes it made: a new base."""
        if self._memory is None:
            raise ValueError("nothing taken yet")
        ledgers = {kept.number: (kept.entries, [], None) for kept in self._kept.values()}
        return Save(True, pickle.dumps((self._memory, ledgers, [])))


def restore(stage: Stage, *saves: bytes) -> None:
    """Give a freshly built `stage` the memory of a base and the saves after it.

    The saves come from this code's own store (pickle is safe here: nothing but the processor
    itself writes them).
    """
    memory: bytes | None = None
    ledgers: dict[int, dict[Any, bytes]] = {}
    for saved in saves:
        saved_memory, changed, dropped = pickle.loads(saved)
        memory = saved_memory if saved_memory is not None else memory
        for number, (puts, removed, order) in changed.items():
            entries = ledgers.setdefault(number, {})
            for key in removed:
                entries.pop(key, None)
            entries.update(puts)
            if order is not None:
                ledgers[number] = {key: entries[key] for key in order}
        for number in dropped:
            ledgers.pop(number, None)
    if memory is None:
        raise ValueError("the saves hold no base")
    built = {
        number: Ledger((key, pickle.loads(value)) for key, value in entries.items())
        for number, entries in ledgers.items()
    }
    for name, value in _MemoryUnpickler(io.BytesIO(memory), built).load().items():
        owner, _, attribute = name.rpartition(".")
        setattr(attrgetter(owner)(stage) if owner else stage, attribute, value)


class Store(Protocol):
    """The part of a Quix Streams `State` the saves use."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def get_bytes(self, key: str, default: bytes | None = None) -> bytes | None: ...
    def set_bytes(self, key: str, value: bytes) -> None: ...
    def delete(self, key: str) -> None: ...


class MemoryStore:
    """A `Store` in a dict: the saves of a stage outside a live processor (tests, benchmarks)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def get_bytes(self, key: str, default: bytes | None = None) -> bytes | None:
        return self.data.get(key, default)

    def set_bytes(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


# One changelog record must stay under the broker's message size limit (1 MiB by default),
# and a busy partition's base can exceed it: saves are stored in pieces.
PIECE = 512 * 1024


def write(store: Store, snapshots: Snapshots, stage: Stage) -> None:
    """Save `stage`'s changes in `store`: on the log, or as a new base once the log would
    outgrow the base."""
    save = snapshots.take(stage)
    length, size = store.get("log.length", 0), store.get("log.size", 0)
    if not save.base and size + len(save.data) > store.get("base.size", 0):
        save = snapshots.image()
    if save.base:
        _put(store, "base", save.data)
        for n in range(length):
            _drop(store, f"log:{n}")
        store.set("base.size", len(save.data))
        store.set("log.length", 0)
        store.set("log.size", 0)
    else:
        _put(store, f"log:{length}", save.data)
        store.set("log.length", length + 1)
        store.set("log.size", size + len(save.data))


def read(store: Store) -> list[bytes]:
    """The base and the log after it, for `restore`; empty if nothing was saved."""
    if store.get("chunks") is not None:
        raise RuntimeError(
            "this partition's state was saved by an earlier fillstream, in a layout this one "
            "does not read. To start afresh on the local broker, stop it (`fillstream kafka "
            "stop`) and delete the state directory (FILLSTREAM_STATE_DIR, by default "
            "~/.local/state/fillstream), which holds its topics and the processors' state; on a "
            "cluster, run the pipeline under a new FILLSTREAM_TOPIC_PREFIX"
        )
    if store.get("base:pieces") is None:
        return []
    return [_get(store, "base")] + [
        _get(store, f"log:{n}") for n in range(store.get("log.length", 0))
    ]


def _put(store: Store, name: str, data: bytes) -> None:
    pieces = max(1, -(-len(data) // PIECE))
    for n in range(pieces):
        store.set_bytes(f"{name}:{n}", data[n * PIECE : (n + 1) * PIECE])
    for n in range(pieces, store.get(f"{name}:pieces", 0)):
        store.delete(f"{name}:{n}")
    store.set(f"{name}:pieces", pieces)


def _get(store: Store, name: str) -> bytes:
    pieces = range(store.get(f"{name}:pieces"))
    return b"".join(store.get_bytes(f"{name}:{n}") or b"" for n in pieces)


def _drop(store: Store, name: str) -> None:
    for n in range(store.get(f"{name}:pieces", 0)):
        store.delete(f"{name}:{n}")
    store.delete(f"{name}:pieces")


class _EntryPickler(pickle.Pickler):
    """Pickles one value at a time, each on its own; records it met in the last save are
    copied as the bytes made then."""

    def __init__(
        self,
        previous: dict[int, tuple[Record, bytes]],
        current: dict[int, tuple[Record, bytes]],
        buffer: io.BytesIO | None = None,
    ) -> None:
        self._buffer = buffer or io.BytesIO()
        super().__init__(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self.previous, self.current = previous, current

    def dumps(self, value: Any) -> bytes:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self.clear_memo()
        self.dump(value)
        return buffer.getvalue()

    def reducer_override(self, obj: object) -> Any:
        if not isinstance(obj, Record):
            names = _slotted_fields(type(obj))
            if not names:
                return NotImplemented
            return _rebuild, (type(obj), [getattr(obj, name) for name in names])
        entry = self.current.get(id(obj)) or self.previous.get(id(obj))
        if entry is None or entry[0] is not obj:  # an id reused by a newer record
            entry = (obj, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        self.current[id(obj)] = entry
        return pickle.loads, (entry[1],)


class _MemoryPickler(_EntryPickler):
    """Pickles the memory, each ledger in it by its number."""

    def __init__(
        self,
        buffer: io.BytesIO,
        previous: dict[int, tuple[Record, bytes]],
        current: dict[int, tuple[Record, bytes]],
        kept: dict[int, _Kept],
        met: dict[int, _Kept],
        numbers: itertools.count[int],
    ) -> None:
        super().__init__(previous, current, buffer)
        self.kept, self.met, self.numbers = kept, met, numbers

    def persistent_id(self, obj: Any) -> int | None:
        if type(obj) is not Ledger:
            return None
        kept = self.met.get(id(obj)) or self.kept.get(id(obj))
        if kept is None:
            kept = _Kept(obj, next(self.numbers))
        self.met[id(obj)] = kept
        return kept.number


class _MemoryUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, ledgers: dict[int, Ledger]) -> None:
        super().__init__(file)
        self.ledgers = ledgers

    def persistent_load(self, pid: Any) -> Ledger:
        return self.ledgers[pid]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _slotted_fields(cls: type) -> tuple[str, ...]:
    """The field names of a slotted dataclass pickled by its generated `__getstate__`, else
    none (a class of its own `__getstate__` keeps it)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        getstate = getattr(cls, "__getstate__", None)
        generated = getattr(getstate, "__name__", "") == "_dataclass_getstate"
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls)) if generated else ()
    return names


def _rebuild(cls: type, values: list[Any]) -> Any:
    obj = object.__new__(cls)
    for name, value in zip(_slotted_fields(cls), values, strict=True):
        object.__setattr__(obj, name, value)
    return obj
