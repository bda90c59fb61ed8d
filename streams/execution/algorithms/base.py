"""What every execution algorithm is: a plan that says, at any moment, how much of its parent
should be filled or working by now.

An algorithm starts from the parent's facts and the market as it stands, and returns a `Plan`
(frozen, so it is part of the executor's durable state as it is). From then on the executor
asks the plan for its `target` on every market event, clock tick and execution report, and
sends one child at a time to close the gap (`streams/execution/children.py`): everything that
is common to the algorithms (the limit price, never more than the remaining quantity, lots
and minimum notional, completing partial fills, cancelling) lives there once, and a plan only
decides how fast to go. That is the whole interface: plan, react (target), and a cancel that
needs nothing from the plan.

`Market` is what the executor has seen of one symbol, in event time: the touch, the cumulative
volume and turnover other participants traded (so an algorithm measures any interval from two
readings), and a short history of mids and volume for estimates.

Participation is a share of the others' volume, never of our own: on a tape that carries our
fills too (a real venue's; `Rules.trades_include_fills`), each of our fills is matched to the
print that shows it and that print is not counted. Fill and print come on different topics, in
either order, so whichever comes first waits for the other (`Print`, `MATCH_WINDOW_US`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any, Protocol

from fillstream.schemas.models import Quote, Side, Trade, Urgency
from fillstream.streams.execution.volume_profile import VolumeProfile

__all__ = [
    "MATCH_WINDOW_US",
    "SECOND_US",
    "Market",
    "ParentFacts",
    "Plan",
    "Print",
    "Schedule",
    "ScheduledPlan",
    "Venue",
    "schedule_of",
]

SECOND_US = 1_000_000
_ZERO = Decimal(0)
_NOISE = Decimal("1e-9")
_HISTORY = 600  # samples kept of mids and volume: ten minutes at one a second
# How long, in event time, either of one execution's fill and print waits for the other: the
# lag of one topic behind the other; a fill whose print never comes (another feed) is then
# dropped. It is no tolerance on their times: a venue stamps both with the execution's time.
MATCH_WINDOW_US = 5 * SECOND_US
_UNMATCHED = 1_000  # of each kind, per symbol: the oldest goes first past it


@dataclass(frozen=True, slots=True)
class Print:
    """One execution, as our fill or as a print of the tape, for matching one with the other:
    by the venue's trade id where our fill has one, else by venue, price, size and the same
    time: a venue stamps both with the execution's, so an identical print stamped earlier is
    another participant's (a fill that came first and took it would count the others short)."""

    venue: str
    trade_id: str | None  # ours: None where the venue's report names no trade
    timestamp: int
    price: Decimal
    quantity: Decimal

    def shows(self, other: Print) -> bool:
        """Whether the two are one execution (either may be the fill)."""
        if self.venue != other.venue:
            return False
        if self.trade_id is not None and other.trade_id is not None:
            return self.trade_id == other.trade_id
        return (
            self.price == other.price
            and self.quantity == other.quantity
            and self.timestamp == other.timestamp
        )


def _unmatched() -> deque[Print]:
    return deque(maxlen=_UNMATCHED)


@dataclass
class Market:
    """One symbol's market as the executor has seen it; updated in place, read by plans."""

    time_us: int = 0
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    last: Decimal | None = None
    volume: Decimal = _ZERO  # quantity others traded since the executor started
    turnover: Decimal = _ZERO  # sum of price * quantity of the same trades
    mids: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    volumes: deque[tuple[int, Decimal]] = field(default_factory=lambda: deque(maxlen=_HISTORY))
    # On a tape that carries our fills: our fills not yet seen on it, and its recent prints not
    # yet known to be ours (counted meanwhile), each kept for MATCH_WINDOW_US of event time.
    fills_unseen: deque[Print] = field(default_factory=_unmatched)
    prints_unclaimed: deque[Print] = field(default_factory=_unmatched)

    def on_quote(self, quote: Quote) -> None:
        self.time_us = max(self.time_us, quote.timestamp)
        self.bid, self.ask = quote.bid_price, quote.ask_price
        self.bid_size, self.ask_size = quote.bid_size, quote.ask_size
        mid = self.mid
        if mid is not None and (not self.mids or self.time_us - self.mids[-1][0] >= SECOND_US):
            self.mids.append((self.time_us, float(mid)))

    def on_trade(self, trade: Trade, carries_fills: bool = False) -> None:
        """A print of the tape; `carries_fills`: the tape shows our own fills too, and this
        print counts only once known not to be one (or only what of it is not ours)."""
        self.time_us = max(self.time_us, trade.timestamp)
        self.last = trade.price
        quantity = trade.quantity
        if carries_fills:
            self._forget_unmatched()
            seen = Print(trade.venue, trade.trade_id, trade.timestamp, trade.price, quantity)
            ours = _claim(self.fills_unseen, seen)
            if ours is None:
                self.prints_unclaimed.append(seen)
            else:
                quantity -= ours.quantity
        self._count(trade.price, quantity)

    def on_own_fill(self, fill: Print) -> None:
        """One of our fills, on a tape that carries them: its print, if already counted, is
        taken back out of the others' volume; else the fill waits for it."""
        self._forget_unmatched()
        if _claim(self.prints_unclaimed, fill) is None:
            self.fills_unseen.append(fill)
        else:
            self._count(fill.price, -fill.quantity)

    def _count(self, price: Decimal, quantity: Decimal) -> None:
        self.volume += quantity
        self.turnover += price * quantity
        if not self.volumes or self.time_us - self.volumes[-1][0] >= SECOND_US:
            self.volumes.append((self.time_us, self.volume))

    def _forget_unmatched(self) -> None:
        """Drop what waited longer than the window: its other half is not coming."""
        horizon = self.time_us - MATCH_WINDOW_US
        for held in (self.fills_unseen, self.prints_unclaimed):
            while held and held[0].timestamp < horizon:
                held.popleft()

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    def touch(self, side: Side) -> Decimal | None:
        """The price a child of this side would take at: the ask for a buy, the bid for a sell;
        the last trade when that side of the book is unknown."""
        price = self.ask if side is Side.BUY else self.bid
        return price if price is not None else self.last

    def touch_size(self, side: Side) -> Decimal | None:
        return self.ask_size if side is Side.BUY else self.bid_size

    def volume_rate(self) -> float | None:
        """Traded quantity per second over the history kept; None before two samples."""
        if len(self.volumes) < 2:
            return None
        (t0, v0), (t1, v1) = self.volumes[0], self.volumes[-1]
        return float(v1 - v0) * SECOND_US / (t1 - t0) if t1 > t0 else None

    def spread(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class ParentFacts:
    """What an algorithm may know of its parent order."""

    order_id: str
    side: Side
    quantity: Decimal
    limit_price: Decimal | None
    display_quantity: Decimal | None
    urgency: Urgency | None
    confidence: float | None
    parameters: Mapping[str, Any]  # typed by the catalog
    start_us: int


class Plan(Protocol):
    """A running algorithm's decisions for one parent."""

    name: str  # the algorithm that runs (adaptive names the one it chose)
    resting: bool  # children rest at the limit (iceberg) rather than take and expire
    min_child: Decimal  # no child below this, but the remainder (0: the venue's minimum)
    max_child: Decimal | None  # no child above this, unless folding a remainder into it

    def target(self, now_us: int, market: Market) -> Decimal:
        """The cumulative quantity that should be filled or working by `now_us`."""
        ...


# A schedule: (offset from the start in µs, cumulative quantity due by then), offsets rising,
# the last cumulative quantity the parent's whole quantity.
Schedule = tuple[tuple[int, Decimal], ...]


@dataclass(frozen=True, slots=True)
class ScheduledPlan:
    """A plan that follows a fixed schedule (TWAP, VWAP, implementation shortfall), with an
    optional participation cap and price band (VWAP's)."""

    name: str
    start_us: int
    schedule: Schedule
    side: Side = Side.BUY
    participation_cap: Decimal | None = None  # fraction of market volume, 0 < cap < 1
    volume_at_start: Decimal = _ZERO
    max_deviation: Decimal | None = None  # fraction off the interval's market VWAP
    turnover_at_start: Decimal = _ZERO
    resting: bool = False
    min_child: Decimal = _ZERO
    max_child: Decimal | None = None

    def due(self, now_us: int) -> Decimal:
        """The schedule's cumulative quantity by `now_us`."""
        passed = bisect_right(self.schedule, now_us - self.start_us, key=itemgetter(0))
        return self.schedule[passed - 1][1] if passed else _ZERO

    def target(self, now_us: int, market: Market) -> Decimal:
        due = self.due(now_us)
        traded = market.volume - self.volume_at_start
        if self.participation_cap is not None:
            # `traded` is the others' volume (our fills never in it): our share of the total
            # stays at the cap when we trade cap / (1 - cap) of it.
            due = min(due, traded * self.participation_cap / (1 - self.participation_cap))
        if self.max_deviation is not None and traded > 0:
            vwap = (market.turnover - self.turnover_at_start) / traded
            price = market.touch(self.side)
            if price is not None and _worse_by(self.side, price, vwap) > self.max_deviation:
                return _ZERO  # hold off until the price comes back into the band
        return due


def _claim(held: deque[Print], execution: Print) -> Print | None:
    """Take out of `held` the oldest entry that is `execution` seen from the other side."""
    for index, candidate in enumerate(held):
        if candidate.shows(execution):
            del held[index]
            return candidate
    return None


def _worse_by(side: Side, price: Decimal, reference: Decimal) -> Decimal:
    """How much worse than `reference` a price is for this side, as a fraction of it."""
    return (price - reference) / reference * (1 if side is Side.BUY else -1)


@dataclass(frozen=True, slots=True)
class Venue:
    """What a plan needs to know of where its children go."""

    lot: Decimal | None = None  # the instrument's lot size; None: any quantity
    profile: VolumeProfile | None = None  # the symbol's historical volume profile, for VWAP


def schedule_of(
    quantity: Decimal, points: list[tuple[int, float]], lot: Decimal | None
) -> Schedule:
    """A schedule from (offset µs, weight) points: each point's share of `quantity` in
    proportion to its weight, cumulative amounts rounded down to whole lots (so each slice is
    whole lots and rounding never runs ahead), the last exactly `quantity`."""
    total = sum(weight for _, weight in points)
    if total <= 0:
        raise ValueError("a schedule needs some positive weight")
    schedule: list[tuple[int, Decimal]] = []
    running = 0.0
    for index, (offset, weight) in enumerate(points):
        running += weight
        if index == len(points) - 1:
            cumulative = quantity
        else:
            cumulative = min(
                quantity, _round_down(quantity * Decimal(running) / Decimal(total), lot)
            )
        if schedule and cumulative <= schedule[-1][1]:
            continue  # nothing new due at this point (a zero weight, or less than a lot)
        schedule.append((offset, cumulative))
    return tuple(schedule)


def _round_down(quantity: Decimal, lot: Decimal | None) -> Decimal:
    """Down to whole lots; a quantity within float noise (1e-9) of a lot boundary is on it, so
    weights that are floats (a third, a profile's shares) do not lose a lot to rounding."""
    step = lot if lot is not None else Decimal("1e-8")
    nearest = (quantity / step).to_integral_value() * step
    if abs(quantity - nearest) <= abs(quantity) * _NOISE:
        return nearest
    return quantity if lot is None else (quantity // lot) * lot
