"""The slices the gateway's journal has finished, as far as the gateway remembers them.

Two memories, both bounded: the ids of the latest finished slices (a `RecentIds`, the size
every processor keeps against re-deliveries), so a slice taken again after a crash is dropped
rather than sent; and the latest finished entries of each venue, whose trades periodic
reconciliation still checks. Both are filled entry by entry in the journal's order, by the
running gateway as it writes each final entry and by a restarted one as it reads the journal,
so a restart remembers the same slices as the run before it.
"""

from __future__ import annotations

from fillstream.connectors.gateway.journal import JournalEntry
from fillstream.domain.ids import REDELIVERY_MEMORY, RecentIds

__all__ = ["KEEP_FINISHED", "FinishedSlices"]

KEEP_FINISHED = 1000  # finished slices per venue that periodic reconciliation still checks


class FinishedSlices:
    """Finished slices in the order the journal finished them."""

    def __init__(self, memory: int = REDELIVERY_MEMORY, keep: int = KEEP_FINISHED) -> None:
        self.ids = RecentIds(memory)
        self.keep = keep
        self._entries: dict[str, JournalEntry] = {}  # oldest first

    def __contains__(self, slice_id: object) -> bool:
        return slice_id in self.ids

    def add(self, entry: JournalEntry) -> None:
        """A journal entry; a final one is remembered."""
        if not entry.step.final:
            return
        self.ids.remember(entry.slice_id)
        self._entries[entry.slice_id] = entry
        if len(self._entries) > self.keep * 4:  # trimmed now and then, not per entry
            for slice_id in list(self._entries)[: -self.keep * 2]:
                del self._entries[slice_id]

    def of(self, venue: str) -> list[JournalEntry]:
        """The venue's most recently finished slices, oldest first: their trades may still be
        missed."""
        mine = [entry for entry in self._entries.values() if entry.slice.venue == venue]
        return mine[-self.keep :]
