"""The processors' cores, composed: each stage takes one input record and returns its outputs.

A stage is what one processor does, with no Kafka in it: `handle(topic, record, now_us)`
takes a record from one of its `inputs` and returns `Emit`s for the topics it writes. The
replay harness calls stages directly in timestamp order; the live processors call the same
stages from Quix Streams, so both produce the same records from the same inputs.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

__all__ = ["Emit", "Stage", "event_time"]


class Emit(NamedTuple):
    """A record for a catalog topic (unprefixed name)."""

    topic: str
    record: BaseModel


class Stage(Protocol):
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]: ...


# The field that carries each topic's event time (µs since the epoch, UTC).
_EVENT_TIME = {
    "signals": "created_at",
    "orders.approved": "approved_at",
    "orders.rejected": "rejected_at",
    "orders.routed": "routed_at",
    "slices": "created_at",
    "fills": "timestamp",
    "orders.state": "updated_at",
    "market.quotes": "timestamp",
    "market.trades": "timestamp",
    "market.book": "timestamp",
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
