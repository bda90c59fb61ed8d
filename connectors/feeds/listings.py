"""What a recording tells of the instruments it trades: each venue and symbol, and the steps
its prices and quantities move in, which the venue's tick and lot sizes make.

A venue takes prices on its tick only and quantities in whole lots only, so each price in its
data is a multiple of the tick and each quantity a multiple of the lot, and their greatest
common divisor is a multiple of the tick (or lot): the tick itself once the prices have landed
on enough different ticks, else a coarser step. A few values may sit off the grid all the same
(an order resting since a venue made its lot coarser, as in a Binance BTCUSDT book snapshot
of 2024), so the divisor is taken over the values with the fewest decimal places that still
hold all but one in a thousand of them (`STRAYS`). Quantities are trade sizes, quote sizes and
book level sizes; a book level of size zero (a level removed) has none.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.connectors.feeds.events import MarketEvent
from fillstream.schemas.models import BookUpdate, Quote, Trade

__all__ = ["STRAYS", "ObservedListing", "common_step", "observe_listings", "step_of"]

STRAYS = Decimal("0.001")  # at most this share of the values may sit off the step found


def common_step(a: Decimal, b: Decimal) -> Decimal:
    """The largest decimal that both `a` and `b` are whole multiples of (both positive)."""
    exponent = min(_exponent(a), _exponent(b))
    gcd = math.gcd(int(a.scaleb(-exponent)), int(b.scaleb(-exponent)))
    return Decimal(gcd).scaleb(exponent).normalize()


def step_of(values: Iterable[Decimal]) -> Decimal | None:
    """The largest step that the positive `values` are multiples of, leaving out the strays:
    those with more decimal places than all but `STRAYS` of the values have. None: no value."""
    positive = [value for value in values if value > 0]
    exponents = Counter(_exponent(value) for value in positive)
    kept, finest = 0, 0
    for finest in sorted(exponents, reverse=True):  # coarsest first
        kept += exponents[finest]
        if kept >= len(positive) * (1 - STRAYS):
            break
    if not positive:
        return None
    on_grid = (value for value in positive if _exponent(value) >= finest)
    return functools.reduce(_widen, on_grid)


def _widen(step: Decimal, value: Decimal) -> Decimal:
    return step if value % step == 0 else common_step(step, value)


def _exponent(value: Decimal) -> int:
    """The power of ten of the value's last significant digit (-2 for 0.25, 3 for 5000)."""
    return int(value.normalize().as_tuple().exponent)


@dataclass
class ObservedListing:
    """One venue's symbol in a recording: the prices and quantities it showed."""

    venue: str
    symbol: str
    prices: list[Decimal] = field(default_factory=list)
    quantities: list[Decimal] = field(default_factory=list)

    @property
    def tick_size(self) -> Decimal | None:
        return step_of(self.prices)

    @property
    def lot_size(self) -> Decimal | None:
        return step_of(self.quantities)


def observe_listings(events: Iterable[MarketEvent]) -> dict[tuple[str, str], ObservedListing]:
    """Every (venue, symbol) the events trade or quote, with the prices and sizes shown."""
    listings: dict[tuple[str, str], ObservedListing] = {}
    for event in events:
        record = event.record
        listing = listings.get((record.venue, record.symbol))
        if listing is None:
            listing = ObservedListing(record.venue, record.symbol)
            listings[record.venue, record.symbol] = listing
        if isinstance(record, Trade):
            listing.prices.append(record.price)
            listing.quantities.append(record.quantity)
        elif isinstance(record, Quote):
            prices = (record.bid_price, record.ask_price)
            sizes = (record.bid_size, record.ask_size)
            listing.prices += [price for price in prices if price is not None]
            listing.quantities += [size for size in sizes if size is not None]
        elif isinstance(record, BookUpdate):
            for level in (*record.bids, *record.asks):
                listing.prices.append(level.price)
                listing.quantities.append(level.quantity)
    return listings
