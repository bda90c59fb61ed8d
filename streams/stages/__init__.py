"""The processors' cores, composed: each stage takes one input record and returns its outputs.

A stage is what one processor does, with no Kafka in it: `handle(topic, record, now_us)`
takes a record from one of its `inputs` and returns `Emit`s for the topics it writes. The
replay harness calls stages directly in timestamp order; the live processors call the same
stages from Quix Streams, so both produce the same records from the same inputs.

What a stage remembers lives in the attributes its `durable` names (its configuration does
not; a dotted name reaches into a member stage): `Snapshots.take` and `restore` carry them
across a restart of the live processor. `Wiring` passes what stages emit to the stages that
read it, for the replay harness and for a processor made of several stages.
"""

from __future__ import annotations

import io
import pickle
from collections import defaultdict, deque
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from fillstream.schemas.models import Record

__all__ = ["Emit", "Snapshots", "Stage", "Wiring", "event_time", "restore"]


class Emit(NamedTuple):
    """A record for a catalog topic (unprefixed name)."""

    topic: str
    record: BaseModel


class Stage(Protocol):
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    durable: tuple[str, ...]

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]: ...


@dataclass
class Wiring:
    """Stages wired by topic: what one emits, the readers of that topic receive."""

    stages: list[Stage]
    readers: dict[str, list[Stage]] = field(init=False)

    def __post_init__(self) -> None:
        self.readers = defaultdict(list)
        for stage in self.stages:
            for topic in stage.inputs:
                self.readers[topic].append(stage)

    def deliver(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        """Everything that follows from one input, in the order it was produced (breadth
        first). Each stage reads its input's own event time, as the live processors do;
        `now_us` stands in only for a record without one."""
        produced: list[Emit] = []
        pending: deque[Emit] = deque([Emit(topic, record)])
        while pending:
            emit = pending.popleft()
            at = event_time(emit.topic, emit.record, now_us)
            for stage in self.readers.get(emit.topic, ()):
                for output in stage.handle(emit.topic, emit.record, at):
                    produced.append(output)
                    pending.append(output)
        return produced


class Snapshots:
    """Takes successive snapshots of one stage, each as bytes.

    Most of a stage's memory is records (orders, slices) that never change once made: records
    are frozen. So each record is pickled once, when a snapshot first meets it, and later
    snapshots copy its bytes; a snapshot costs what changed since the last, not all the stage
    holds. Bytes of records the stage no longer holds are dropped at the next snapshot.

    The rest is mostly slotted dataclasses (an order's slices, TCA's fills), which pickle by
    their generated `__getstate__`: it lists the class's fields anew for every object, which
    took a sixth of the desk's time. They are pickled as their field values instead, with the
    field names looked up once per class.
    """

    def __init__(self) -> None:
        self._pickled: dict[int, tuple[Record, bytes]] = {}

    def take(self, stage: Stage) -> bytes:
        buffer = io.BytesIO()
        pickler = _RecordPickler(buffer, self._pickled)
        pickler.dump({name: attrgetter(name)(stage) for name in stage.durable})
        self._pickled = pickler.current
        return buffer.getvalue()


class _RecordPickler(pickle.Pickler):
    def __init__(self, buffer: io.BytesIO, previous: dict[int, tuple[Record, bytes]]) -> None:
        super().__init__(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self.previous = previous
        self.current: dict[int, tuple[Record, bytes]] = {}

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


def restore(stage: Stage, saved: bytes) -> None:
    """Give a freshly built `stage` the memory a snapshot saved (from this code's own store:
    pickle is safe here because nothing but the processor itself writes the snapshots)."""
    for name, value in pickle.loads(saved).items():
        owner, _, attribute = name.rpartition(".")
        setattr(attrgetter(owner)(stage) if owner else stage, attribute, value)


# The field that carries each topic's event time (µs since the epoch, UTC).
_EVENT_TIME = {
    "signals": "created_at",
    "orders.approved": "approved_at",
    "orders.rejected": "rejected_at",
    "orders.routed": "routed_at",
    "slices": "created_at",
    "fills": "timestamp",
    "fills.accounts": "timestamp",
    "orders.state": "updated_at",
    "market.quotes": "timestamp",
    "market.trades": "timestamp",
    "market.book": "timestamp",
    "market.reference": "timestamp",
    "venue.instruments": "published_at",
    "clock": "timestamp",
    "commands": "created_at",
    "tca": "completed_at",
    "tca.feedback": "completed_at",
}


def event_time(topic: str, record: Any, fallback: int) -> int:
    """When a record happened: the clock every stage reads, in replay and live alike.

    `fallback` (the transport's time) serves records without a usable time: a raw signal
    that fails validation.
    """
    field = _EVENT_TIME[topic]
    value = record.get(field) if isinstance(record, dict) else getattr(record, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
