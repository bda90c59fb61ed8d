"""Deterministic ids: a re-delivered message can never create a second order.

A parent order id comes from the signal id, a slice id from the parent id and a sequence
number, and the slice id is the venue's client order id: Binance allows at most 36 characters
of `[.A-Za-z0-9:/_-]`. Short, plain signal ids stay readable (`o-sig-0001`); any other is
replaced by a 24-character digest, one character longer than any readable form, so the two
kinds can never collide.

Ids alone do not stop a re-delivered message from starting again what already ended and left
memory: the processors keep the latest ids they have seen in a `RecentIds`, a bounded memory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from fillstream.domain.ledger import Ledger

__all__ = ["REDELIVERY_MEMORY", "RecentIds", "order_id_for", "slice_id_for"]

_READABLE = re.compile(r"[.A-Za-z0-9:/_-]{1,23}")

# How many ids a processor remembers to recognise a re-delivery: minutes of orders at a busy
# desk's pace, well beyond a broker retry or a restart from the last commit (when a message
# comes twice). Every id is an entry of the processor's saved memory, so it is kept as small
# as that allows.
REDELIVERY_MEMORY = 10_000


def order_id_for(signal_id: str) -> str:
    if _READABLE.fullmatch(signal_id):
        return f"o-{signal_id}"
    return "o-" + hashlib.sha256(signal_id.encode()).hexdigest()[:24]


def slice_id_for(order_id: str, sequence: int) -> str:
    return f"{order_id}-{sequence}"


class RecentIds:
    """The latest `capacity` ids, oldest first, each with a short note (text, "" by default).

    Remembering a new id beyond `capacity` forgets the oldest, so the memory stays bounded. The
    ids live in a `Ledger`: the processors save their memory at every commit, and a save then
    holds only the ids remembered and forgotten since the last (`streams.memory`).
    """

    __slots__ = ("_notes", "capacity")

    def __init__(self, capacity: int = REDELIVERY_MEMORY) -> None:
        if capacity < 1:
            raise ValueError(f"a memory needs room for at least one id, not {capacity}")
        self.capacity = capacity
        self._notes: Ledger[str, str] = Ledger()

    def __contains__(self, id_: object) -> bool:
        return id_ in self._notes

    def __len__(self) -> int:
        return len(self._notes)

    @property
    def ledger(self) -> Ledger[str, str]:
        """The ids and their notes, oldest first: what a save writes and a restore refills."""
        return self._notes

    def __iter__(self) -> Iterator[str]:
        return iter(self._notes)

    def note(self, id_: str) -> str | None:
        """The note kept with `id_`, or None if it is not remembered."""
        return self._notes.get(id_)

    def remember(self, id_: str, note: str = "") -> None:
        """Keep `id_` with `note`; an id already known keeps its place and takes the new note."""
        notes = self._notes
        if id_ not in notes and len(notes) >= self.capacity:
            notes.popitem()
        notes[id_] = note
