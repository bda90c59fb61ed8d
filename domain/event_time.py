"""When each topic's records happened: the field that carries it, read the same way by the
stages (live and in replay), the audit and the daily logs."""

from __future__ import annotations

from typing import Any

__all__ = ["event_time", "has_event_time"]


# The field that carries each topic's event time (µs since the epoch, UTC).
_EVENT_TIME = {
    "signals": "created_at",
    "signals.group": "created_at",
    "allocations": "created_at",
    "allocations.ended": "updated_at",
    "accounts.state": "updated_at",
    "accounts.correlations": "updated_at",
    "orders.approved": "approved_at",
    "orders.rejected": "rejected_at",
    "orders.routed": "routed_at",
    "slices": "created_at",
    "fills": "timestamp",
    "fills.accounts": "timestamp",
    "orders.state": "updated_at",
    "orders.ended": "updated_at",
    "market.quotes": "timestamp",
    "market.trades": "timestamp",
    "market.book": "timestamp",
    "market.reference": "timestamp",
    "venue.instruments": "published_at",
    "venue.balances": "fetched_at",
    "clock": "timestamp",
    "commands": "created_at",
    "tca": "completed_at",
    "metrics": "timestamp",
    "tca.feedback": "completed_at",
    "schedules": "created_at",
    "schedules.state": "updated_at",
}


def has_event_time(topic: str) -> bool:
    """Whether `topic`'s records carry the time they happened, for `event_time` to read."""
    return topic in _EVENT_TIME


def event_time(topic: str, record: Any, fallback: int) -> int:
    """When a record happened: the clock every stage reads, in replay and live alike.

    `fallback` (the transport's time) serves records without a usable time: a raw signal
    that fails validation.
    """
    field = _EVENT_TIME[topic]
    value = record.get(field) if isinstance(record, dict) else getattr(record, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback
