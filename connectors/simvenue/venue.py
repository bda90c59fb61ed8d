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
the venue never received, or of one already finished, is refused (`reject`, see `blotter.py`).
A replace gives the order the new slice's quantity (the new total, fills included, which it
must exceed) and, where given, its price, stop price and display quantity; side, type and time
in force stay. The new terms meet the same checks as a new order; a refused replace leaves the
order unchanged. A replace keeps the order's queue position when it only lowers the quantity;
a new price or a larger quantity sends it to the back of the queue (a new price may also make
it take liquidity, as a new order would).

The venue keeps every order it received (for re-delivery checks and cancel-rejects): its memory
grows with the number of orders, which suits a replay or a day of simulated trading.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from typing import NamedTuple

from fillstream.connectors.instruments import Instrument
from fillstream.connectors.simvenue.blotter import Blotter
from fillstream.connectors.simvenue.exact import exact_arithmetic
from fillstream.connectors.simvenue.matching import Listing, MarketEvent
from fillstream.connectors.simvenue.orders import OpenOrder, VenueOrder
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.connectors.simvenue.rules import check_order
from fillstream.connectors.simvenue.session import SessionRule
from fillstream.connectors.venues import VenueConfig
from fillstream.schemas.models import (
    ExecutionReport,
    OrderStatus,
    Slice,
    SliceAction,
    TimeInForce,
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

    def __init__(
        self,
        config: VenueConfig,
        instruments: Iterable[Instrument],
        *,
        session: SessionRule | None = None,
        market_venue: str | None = None,
    ) -> None:
        self.config = config
        self._session = session or SessionRule()
        self._market_venue = market_venue or config.name
        self._blotter = Blotter(config)
        self._listings: dict[str, Listing] = {}
        for instrument in instruments:
            if instrument.venue != config.name:
                raise ValueError(f"{instrument.symbol} is listed on {instrument.venue}, not here")
            self._listings[instrument.symbol] = Listing(instrument, self._blotter)
        self._orders: dict[str, VenueOrder] = {}
        self._received: set[tuple[str, SliceAction, int | None]] = set()
        self._due: list[_Due] = []
        self._sequence = itertools.count()
        self._now = 0

    @property
    def now(self) -> int:
        """The venue's clock: the latest time it has processed (µs since the epoch, UTC)."""
        return self._now

    @exact_arithmetic
    def on_market(self, event: MarketEvent) -> list[ExecutionReport]:
        """Apply a quote, trade or book update; what was due before it happens first."""
        reports = self._run_due(event.timestamp, _MARKET)
        at = self._move_clock(event.timestamp)
        listing = self._listings.get(event.symbol)
        if listing is not None and event.venue == self._market_venue:
            reports += listing.on_market(event, at)
        return reports

    @exact_arithmetic
    def submit(self, slice_: Slice) -> list[ExecutionReport]:
        """Send a new, cancel or replace slice; it arrives `latency_us` after its `created_at`.

        Returns the reports of anything already due: a slice arriving in the venue's past.
        """
        new = slice_.action is SliceAction.NEW
        key = (slice_.slice_id, slice_.action, None if new else slice_.created_at)
        if key in self._received:
            return []
        self._received.add(key)
        self._schedule(slice_.created_at + self.config.latency_us, _ARRIVAL, slice_)
        return self._run_due(self._now, _MARKET)

    @exact_arithmetic
    def advance(self, now_us: int) -> list[ExecutionReport]:
        """Let time pass to `now_us` (a clock tick): arrivals and expiries due by then happen."""
        reports = self._run_due(now_us, _ARRIVAL + 1)
        self._move_clock(now_us)
        return reports

    def open_orders(self) -> list[OpenOrder]:
        """Live orders (resting, or stops waiting for a trigger), in the order they arrived."""
        return [order.view() for order in self._orders.values() if order.is_live]

    def _schedule(self, time: int, rank: int, slice_: Slice) -> None:
        heapq.heappush(self._due, _Due(time, rank, next(self._sequence), slice_))

    def _run_due(self, time: int, rank: int) -> list[ExecutionReport]:
        """Everything scheduled before (`time`, `rank`), in time order."""
        reports: list[ExecutionReport] = []
        while self._due and (self._due[0].time, self._due[0].rank) < (time, rank):
            due = heapq.heappop(self._due)
            at = self._move_clock(due.time)
            if due.rank == _EXPIRY:
                reports += self._expire(due.slice, at)
            else:
                reports += self._arrive(due.slice, at)
        return reports

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
        order.expires_at = self._expiry(slice_, at)
        if order.is_live and order.expires_at is not None:
            self._schedule(order.expires_at, _EXPIRY, slice_)
        return reports

    def _expiry(self, slice_: Slice, arrival: int) -> int | None:
        if slice_.time_in_force is TimeInForce.DAY:
            return self._session.day_end(arrival)
        if slice_.time_in_force is TimeInForce.GTD:
            return slice_.expire_at
        return None

    def _expire(self, slice_: Slice, at: int) -> list[ExecutionReport]:
        order = self._orders[slice_.slice_id]
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
            reason = VenueReason.UNKNOWN_ORDER.text(slice_id=slice_.slice_id)
            return None, [self._blotter.end(VenueOrder(slice_), OrderStatus.REJECTED, at, reason)]
        if not order.is_live:
            reason = VenueReason.ORDER_DONE.text(slice_id=order.slice_id, status=order.status.value)
            return None, [self._blotter.refuse(order, at, reason)]
        return order, []
