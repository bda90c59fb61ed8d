"""The processors' cores, composed: each stage takes one input record and returns its outputs.

A stage is what one processor does, with no Kafka in it: `handle(topic, record, now_us)`
takes a record from one of its `inputs` and returns `Emit`s for the topics it writes. The
replay harness calls stages directly in timestamp order; the live processors call the same
stages from Quix Streams, so both produce the same records from the same inputs.

What a stage remembers lives in the attributes its `durable` names (its configuration does
not): `snapshot` and `restore` carry them across a restart of the live processor.
"""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

__all__ = ["Emit", "Stage", "event_time", "restore", "snapshot"]


class Emit(NamedTuple):
    """A record for a catalog topic (unprefixed name)."""

    topic: str
    record: BaseModel


class Stage(Protocol):
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    durable: tuple[str, ...]

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]: ...


def snapshot(stage: Stage) -> bytes:
    """Everything `stage` remembers, as bytes."""
    return pickle.dumps(
        {name: getattr(stage, name) for name in stage.durable}, protocol=pickle.HIGHEST_PROTOCOL
    )


def restore(stage: Stage, saved: bytes) -> None:
    """Give a freshly built `stage` the memory `snapshot` saved (from this code's own store:
    pickle is safe here because nothing but the processor itself writes the snapshots)."""
    for name, value in pickle.loads(saved).items():
        setattr(stage, name, value)


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
    "clock": "timestamp",
    "commands": "created_at",
}


def event_time(topic: str, record: Any, fallback: int) -> int:
    """When a record happened: the clock every stage reads, in replay and live alike.

    `fallback` (the transport's time) serves records without a usable time: a raw signal
    that fails validation.
    """
    field = _EVENT_TIME[topic]
    value = record.get(field) if isinstance(record, dict) else getattr(record, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
