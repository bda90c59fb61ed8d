"""A bracket's legs as the executor works them: each rests for the bracket's open position.

The open position is what the entry filled less what the legs filled. Each leg keeps at most
one slice at its venue, sized to the open position: when the entry fills more, or the other
leg fills, a leg's slice no longer fits, so it is cancelled and, once its final report is in,
sent again at the new size (no venue amends a stop in place through ccxt, and one slice at a
time means a leg never has two working). So the take-profit and the stop-loss are one-cancels-
other: a fill of one shrinks the other to what is left, and cancels it when nothing is.

A leg stops for good (`ended`) when its slice ends in a way nobody asked for (rejected,
expired, or cut by its slippage collar once the stop triggered): sending it again would meet
the same end. The bracket's cancel stops both. Decisions only; `parents.py` makes the slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from fillstream.schemas.models import TERMINAL, ExecutionReport, Slice

__all__ = ["Leg", "open_position", "over"]

_ZERO = Decimal(0)


@dataclass
class Leg:
    """One leg of a bracket: its order id, its slice at the venue and what it filled."""

    order_id: str
    working: Slice | None = None  # its slice at the venue
    working_filled: Decimal = _ZERO  # what that slice filled so far
    filled: Decimal = _ZERO  # of every slice of the leg
    sent: int = 0  # slices sent: the next one's sequence number is sent + 1
    cancelling: bool = False  # its working slice was asked to end (to resize it, or to stop)
    ended: str | None = None  # why it sends no more slices

    def follow(self, report: ExecutionReport) -> None:
        """A report of the leg's working slice: its fills count; a final one frees the leg,
        and ends it when the slice ended unfilled without being asked to."""
        working = self.working
        if working is None or report.slice_id != working.slice_id:
            return  # a report delivered again, of a slice that already ended
        filled = max(self.working_filled, report.filled_quantity)
        self.filled += filled - self.working_filled
        self.working_filled = filled
        if report.status not in TERMINAL:
            return
        if not self.cancelling and filled < working.quantity:
            self.ended = f"slice {working.slice_id} {report.status.value}" + (
                f" ({report.reason})" if report.reason else ""
            )
        self.working, self.working_filled, self.cancelling = None, _ZERO, False

    def send(self, child: Slice) -> Slice:
        self.working, self.working_filled = child, _ZERO
        self.sent += 1
        return child

    def stale(self, open_: Decimal, stopping: bool) -> bool:
        """Whether its working slice must be cancelled: the bracket stops, the leg ended, or
        the slice's remaining quantity is not the open position any more."""
        working = self.working
        if working is None or self.cancelling:
            return False
        return stopping or self.ended is not None or working.quantity - self.working_filled != open_

    def due(self, open_: Decimal, stopping: bool) -> bool:
        """Whether a new slice should go for the open position."""
        return self.working is None and self.ended is None and not stopping and open_ > 0


def open_position(entry_filled: Decimal, legs: Sequence[Leg]) -> Decimal:
    """What the entry opened that the legs have not closed yet."""
    return entry_filled - sum((leg.filled for leg in legs), _ZERO)


def over(legs: Sequence[Leg], open_: Decimal, stopping: bool) -> bool:
    """Whether the legs are done: nothing of theirs works, and nothing is left for them to
    close (or none can: the bracket stopped, or every leg ended)."""
    if any(leg.working is not None for leg in legs):
        return False
    return stopping or open_ <= 0 or all(leg.ended is not None for leg in legs)
