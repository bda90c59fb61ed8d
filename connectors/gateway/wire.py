"""The journal on the wire: `JournalEntry` to and from the `gateway.journal` contract.

A step travels as upper-case text (`VALIDATED`, `SENDING`, ...), as reason codes do, not as an
Avro enum, so a new step needs no schema change; a reader that does not know a step refuses it
by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fillstream.connectors.gateway.journal import JournalEntry, Step
from fillstream.schemas.models import GatewayJournalEntry

__all__ = ["from_record", "to_record"]


def to_record(entry: JournalEntry) -> GatewayJournalEntry:
    """The `gateway.journal` record of one journal entry."""
    return GatewayJournalEntry(
        slice=entry.slice,
        step=entry.step.value.upper(),
        attempt=entry.attempt,
        timestamp=entry.timestamp,
        venue_order_id=entry.venue_order_id,
        reason=entry.reason,
    )


def from_record(record: GatewayJournalEntry | Mapping[str, Any]) -> JournalEntry:
    """The journal entry of a `gateway.journal` record, as a model or as decoded from Avro."""
    if not isinstance(record, GatewayJournalEntry):
        record = GatewayJournalEntry.model_validate(record)
    try:
        step = Step(record.step.lower())
    except ValueError:
        known = ", ".join(member.value.upper() for member in Step)
        raise ValueError(
            f"slice {record.slice.slice_id}: unknown journal step {record.step!r}; known: {known}"
        ) from None
    return JournalEntry(
        slice=record.slice,
        step=step,
        attempt=record.attempt,
        timestamp=record.timestamp,
        venue_order_id=record.venue_order_id,
        reason=record.reason,
    )
