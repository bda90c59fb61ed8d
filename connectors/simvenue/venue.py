"""The simulated venue: a pure, deterministic matching engine over recorded market data.

No Kafka, no clock, no I/O, no randomness: the same calls give the same reports, so the replay
harness and the live gateway's thin shell produce identical fills from identical inputs.

Time moves only with the inputs: market events carry their timestamps and `advance(now_us)`
stands for the clock topic's ticks. The venue's clock is the latest time it processed and never
goes back; a report carries the time its event happened on that clock.
- An action (new, cancel, replace) reaches the engine at `created_at + latency_us`; until then
  it is in flight and the market moves without it.
- At one instant, expiries come first (an order expiring at T does not trade at T), then market
  events, then arrivals: an order arriving at T meets the book as the events stamped T left it.
  An arrival at T therefore waits until an input moves the clock past T, or `advance(T)`: so
  feeding market data and slices in timestamp order gives the same fills whichever of two
  inputs with the same timestamp comes first.
- An action that arrives in the venue's past (submitted late) is handled at once, at the
  venue's current time.
Every market event moves the clock; only events of this venue's market (`market_venue`, the
venue's own name by default) for listed symbols shape the book.

Orders and actions are known by their slice id (the client order id). A `new` whose slice id
the venue has already received is a re-delivery and is ignored: no second order, no second ack.
A cancel or replace is identified by slice id, action and `created_at`, so a re-delivered one is
ignored too, while a cancel re-sent later is a new request. DAY and GTD orders expire by the
`SessionRule` and `expire_at`.

A cancel of a live order ends it (`cancel`, status cancelled); a cancel or replace of an order
the venue does not know, or of one already finished, is refused (`reject`, see `blotter.py`).
A replace gives the order the new slice's quantity (the new total, fills included, which it
must exceed) and, where given, its price, stop price and display quantity; side, type and time
in force stay. The new terms meet the same checks as a new order; a refused replace leaves the
order unchanged. A replace keeps the order's queue position when it only lowers the quantity;
a new price or a larger quantity sends it to the back of the queue (a new price may also make
it take liquidity, as a new order would).

The venue holds its live orders; a finished one (filled, cancelled, rejected, expired) leaves
memory, so the state stays bounded however long the venue runs. What stays is bounded too: the
identities of the latest `memory` actions received (`REDELIVERY_MEMORY` by default, 10,000: two
seconds of orders at 5,000 a second, four commit intervals, beyond a broker retry or a restart
from the last commit, when a message comes twice), and a one-line note of each of the latest
`memory` finished orders (status, totals, report count), so a late cancel or replace of one is
refused with its own status and totals, as before it left.
Past that, a re-delivered `new` would be taken as a new order, and a cancel or replace of the
order is refused as one the venue does not know (`UNKNOWN_ORDER`, status rejected, its report
count starting again from 1) instead of `ORDER_DONE`.

The venue's memory (`durable`, saved by `streams.memory`) is its live orders, one entry each
(an order that changed is noted: every report's order, and those its listing moved), what it
has scheduled, its bounded memories, its books and its counters; a restore rebuilds the queues
and the schedule's heap from them (`restored`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import NamedTuple

from fillstream.connectors.simvenue.blotter import Blotter
from fillstream.connectors.simvenue.exact import exact_arithmetic
from fillstream.connectors.simvenue.matching import Listing, MarketEvent
from fillstream.connectors.simvenue.orders import OpenOrder, VenueOrder
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.connectors.simvenue.rules import check_order
from fillstream.connectors.simvenue.session import SessionRule
from fillstream.domain.ids import REDELIVERY_MEMORY, RecentIds
from fillstream.domain.instruments import Instrument
from fillstream.domain.ledger import Ledger
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import (
    TERMINAL,
    ExecutionReport,
    OrderStatus,
    Slice,
    SliceAction,
    TimeInForce,
    Trade,
)

__all__ = ["SimulatedVenue"]

# What happens first at one instant.
_EXPIRY, _MARKET, _ARRIVAL = 0, 1, 2
_AMENDABLE = ("price", "stop_price", "display_quantity")


class _Due(NamedTuple):
    """Something the venue must do at `time`: an action's arrival or an order's expiry."""

    time: int
    rank: int
    sequence: int  # ties in order of scheduling
    slice: Slice


class SimulatedVenue:
    """One venue's matching engine (see the module docstring)."""

    durable = (
        "_orders",
        "_finished",
        "_received",
        "_scheduled",
        "_listings",
        "_stale_expiries",
        "_sequence",
        "_now",
        "_blotter._acks",
    )
    _orders: Ledger[str, VenueOrder]  # the live orders, in the order they arrived
    _finished: RecentIds  # slice id → the finished order's note
    _received: RecentIds  # the identities of the latest actions
    _scheduled: Ledger[int, _Due]  # what `_due` holds, by sequence: what a save writes
    _listings: dict[str, Listing]
    _stale_expiries: int  # in `_due`, for orders that finished before them
    _sequence: int
    _now: int
    _blotter: Blotter

    def __init__(
        self,
        config: VenueConfig,
        instruments: Iterable[Instrument],
        *,
        session: SessionRule | None = None,
        market_venue: str | None = None,
        memory: int = REDELIVERY_MEMORY,
    ) -> None:
        self.config = config
        self._session = session or SessionRule()
        self._market_venue = market_venue or config.name
        self._blotter = Blotter(config)
        self._listings = {}
        self._orders = Ledger()
        for instrument in instruments:
            if instrument.venue != config.name:
                raise ValueError(f"{instrument.symbol} is listed on {instrument.venue}, not here")
            self._listings[instrument.symbol] = Listing(
                instrument, self._blotter, self._orders.touch
            )
        self._finished = RecentIds(memory)
        self._received = RecentIds(memory)
        self._due: list[_Due] = []  # a heap: the earliest first
        self._scheduled = Ledger()
        self._stale_expiries = 0
        self._sequence = 0
        self._now = 0

    def restored(self) -> None:
        """After a restore: the schedule's heap from what it held (sorted, so a heap), and each
        listing's queue and stops from the live orders."""
        self._due = sorted(self._scheduled.values())
        by_symbol: dict[str, list[VenueOrder]] = {}
        for order in self._orders.values():
            by_symbol.setdefault(order.slice.symbol, []).append(order)
        for symbol, listing in self._listings.items():
            listing.relist(by_symbol.get(symbol, ()))

    @property
    def now(self) -> int:
        """The venue's clock: the latest time it has processed (µs since the epoch, UTC)."""
        return self._now

    def on_market(self, event: MarketEvent) -> list[ExecutionReport]:
        """Apply a quote, trade or book update; what was due before it happens first.

        A print of one of this venue's own fills (on a tape that shows ours, as the replay
        harness prints them) traded here already: it must not trade our orders again, so only
        its time passes, as for another venue's market."""
        applies = event.venue == self._market_venue and not self._printed_here(event)
        if not applies and not self._due_before(event.timestamp, _MARKET):
            self._move_clock(event.timestamp)
            return []
        return self._on_market(event, applies)

    @exact_arithmetic
    def _on_market(self, event: MarketEvent, applies: bool) -> list[ExecutionReport]:
        reports = self._run_due(event.timestamp, _MARKET)
        at = self._move_clock(event.timestamp)
        listing = self._listings.get(event.symbol)
        if listing is not None and applies:
            reports += listing.on_market(event, at)
        return self._settle(reports)

    def _printed_here(self, event: MarketEvent) -> bool:
        """Whether `event` is the print of a fill of ours here: its trade id is the fill's
        report id, `<slice id>:<n>`, of an order this venue holds or has finished."""
        if not isinstance(event, Trade) or not event.trade_id:
            return False
        slice_id, colon, _ = event.trade_id.rpartition(":")
        return bool(colon) and (slice_id in self._orders or slice_id in self._finished)

    @exact_arithmetic
    def submit(self, slice_: Slice) -> list[ExecutionReport]:
        """Send a new, cancel or replace slice; it arrives `latency_us` after its `created_at`.

        Returns the reports of anything already due: a slice arriving in the venue's past.
        """
        identity = _identity(slice_)
        if identity in self._received or (
            slice_.action is SliceAction.NEW
            and (slice_.slice_id in self._orders or slice_.slice_id in self._finished)
        ):
            return []
        self._received.remember(identity)
        self._schedule(slice_.created_at + self.config.latency_us, _ARRIVAL, slice_)
        return self._settle(self._run_due(self._now, _MARKET))

    @exact_arithmetic
    def advance(self, now_us: int) -> list[ExecutionReport]:
        """Let time pass to `now_us` (a clock tick): arrivals and expiries due by then happen."""
        reports = self._run_due(now_us, _ARRIVAL + 1)
        self._move_clock(now_us)
        return self._settle(reports)

    def open_orders(self) -> list[OpenOrder]:
        """Live orders (resting, or stops waiting for a trigger), in the order they arrived."""
        return [order.view() for order in self._orders.values()]

    def _schedule(self, time: int, rank: int, slice_: Slice) -> None:
        self._sequence += 1
        due = _Due(time, rank, self._sequence, slice_)
        heapq.heappush(self._due, due)
        self._scheduled[due.sequence] = due

    def _settle(self, reports: list[ExecutionReport]) -> list[ExecutionReport]:
        """Let the orders that `reports` finished leave memory, each leaving a note behind."""
        for report in reports:
            if report.status in TERMINAL:
                order = self._orders.pop(report.slice_id, None)
                if order is not None:
                    self._finished.remember(order.slice_id, order.note())
                    if order.expires_at is not None:
                        self._stale_expiries += 1
            else:
                self._orders.touch(report.slice_id)
        if 2 * self._stale_expiries > len(self._due):
            # Stale expiries go once they are half the queue: a DAY order filled in the morning
            # would otherwise wait there, slice and all, until the session close.
            kept = []
            for due in self._due:
                if due.rank != _EXPIRY or due.slice.slice_id in self._orders:
                    kept.append(due)
                else:
                    del self._scheduled[due.sequence]
            self._due = kept
            heapq.heapify(self._due)
            self._stale_expiries = 0
        return reports

    def _run_due(self, time: int, rank: int) -> list[ExecutionReport]:
        """Everything scheduled before (`time`, `rank`), in time order."""
        reports: list[ExecutionReport] = []
        while self._due_before(time, rank):
            due = heapq.heappop(self._due)
            del self._scheduled[due.sequence]
            at = self._move_clock(due.time)
            if due.rank == _EXPIRY:
                reports += self._expire(due.slice, at)
            else:
                reports += self._arrive(due.slice, at)
        return reports

    def _due_before(self, time: int, rank: int) -> bool:
        return bool(self._due) and (self._due[0].time, self._due[0].rank) < (time, rank)

    def _move_clock(self, time: int) -> int:
        self._now = max(self._now, time)
        return self._now

    def _arrive(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        match slice_.action:
            case SliceAction.NEW:
                return self._accept(slice_, at)
            case SliceAction.CANCEL:
                return self._cancel(slice_, at)
            case SliceAction.REPLACE:
                return self._replace(slice_, at)

    def _accept(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        order = VenueOrder(slice_)
        self._orders[slice_.slice_id] = order
        listing = self._listings.get(slice_.symbol)
        reason = (
            VenueReason.UNKNOWN_SYMBOL.text(symbol=slice_.symbol, venue=self.config.name)
            if listing is None
            else check_order(slice_, listing.instrument, listing.book, self.config, at)
        )
        if listing is None or reason is not None:
            return [self._blotter.end(order, OrderStatus.REJECTED, at, reason)]
        reports = [self._blotter.ack(order, at), *listing.place(order, at)]
        expires_at = self._expiry(slice_, at)
        if order.is_live and expires_at is not None:
            order.expires_at = expires_at
            self._schedule(expires_at, _EXPIRY, slice_)
        return reports

    def _expiry(self, slice_: Slice, arrival: int) -> int | None:
        if slice_.time_in_force is TimeInForce.DAY:
            return self._session.day_end(arrival)
        if slice_.time_in_force is TimeInForce.GTD:
            return slice_.expire_at
        return None

    def _expire(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        order = self._orders.get(slice_.slice_id)
        if order is None:  # it finished and left before its expiry
            return []
        order.expires_at = None  # due now, so no longer pending
        if not order.is_live:
            return []
        self._listings[slice_.symbol].withdraw(order)
        day = slice_.time_in_force is TimeInForce.DAY
        reason = VenueReason.SESSION_CLOSED if day else VenueReason.EXPIRE_AT_REACHED
        return [self._blotter.end(order, OrderStatus.EXPIRED, at, reason.text())]

    def _cancel(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        order, refused = self._live_order(slice_, at)
        if order is None:
            return refused
        self._listings[order.slice.symbol].withdraw(order)
        return [self._blotter.end(order, OrderStatus.CANCELLED, at, None)]

    def _replace(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        order, refused = self._live_order(slice_, at)
        if order is None:
            return refused
        listing = self._listings[order.slice.symbol]
        terms = {"quantity": slice_.quantity} | {
            field: value for field in _AMENDABLE if (value := getattr(slice_, field)) is not None
        }
        amended = order.slice.model_copy(update=terms)
        reason = check_order(amended, listing.instrument, listing.book, self.config, at)
        if reason is None and amended.quantity <= order.filled:
            reason = VenueReason.REPLACE_BELOW_FILLED.text(
                quantity=amended.quantity, filled=order.filled
            )
        if reason is not None:
            return [self._blotter.refuse(order, at, reason)]
        return listing.replace(order, amended, at)

    def _live_order(
        self, slice_: Slice, at: int
    ) -> tuple[VenueOrder | None, list[ExecutionReport]]:
        """The live order a cancel or replace targets, or None and the reject that answers it."""
        order = self._orders.get(slice_.slice_id)
        if order is None:
            return None, self._refuse_absent(slice_, at)
        if not order.is_live:  # finished by an earlier event of this call
            return None, [self._blotter.refuse(order, at, _done(order))]
        return order, []

    def _refuse_absent(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        """Refuse a cancel or replace of an order not in memory: a finished one by its note, with
        its own status and totals; any other as unknown."""
        note = self._finished.note(slice_.slice_id)
        if note is None:
            reason = VenueReason.UNKNOWN_ORDER.text(slice_id=slice_.slice_id)
            return [self._blotter.end(VenueOrder(slice_), OrderStatus.REJECTED, at, reason)]
        order = VenueOrder.recalled(slice_, note)
        refused = [self._blotter.refuse(order, at, _done(order))]
        self._finished.remember(order.slice_id, order.note())  # its report count moved on
        return refused


def _identity(slice_: Slice) -> str:
    """What a re-delivered action repeats: a new's slice id; a cancel's or replace's slice id
    and creation time (a cancel re-sent later is a new request)."""
    if slice_.action is SliceAction.NEW:
        return f"new {slice_.slice_id}"
    return f"{slice_.action.value} {slice_.created_at} {slice_.slice_id}"


def _done(order: VenueOrder) -> str:
    return VenueReason.ORDER_DONE.text(slice_id=order.slice_id, status=order.status.value)
