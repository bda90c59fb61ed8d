"""Smart order routing: which venues get how much of a parent order.

`plan_route` is the what-if call: it returns the plan and sends nothing; the router processor
sends what it returns. The rules, in order:

1. A signal that names its venue (`exchange`) goes there whole.
2. Otherwise lit venues are ranked by the price a taker would really pay there, fees included
   (a buy at ask × (1 + taker fee), a sell at bid × (1 − taker fee)); ties go to the venue's
   configured priority, then its name, so a plan is deterministic.
3. The order sweeps the displayed size of each ranked venue in turn, within its limit price,
   in whole lots of that venue's instrument.
4. What remains goes to the first dark venue whose minimum size it meets (hidden liquidity is
   unknown, so a dark venue gets only what the lit books did not show), else to the best lit
   venue (where it rests at its limit or takes the book as it refills). Quantity that no venue
   can take in whole lots stays with the best venue, so the plan always adds up to the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from fillstream.domain.instruments import InstrumentBook
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import Quote, Side, Signal, VenueAllocation
from fillstream.schemas.trusted import trusted

__all__ = ["NoVenue", "plan_route"]

_ONE = Decimal(1)


class NoVenue(ValueError):
    """No configured venue lists the symbol: the order cannot be routed."""


@dataclass(frozen=True)
class _Offer:
    """What one lit venue shows on the side the order would take."""

    venue: VenueConfig
    price: Decimal | None
    size: Decimal
    cost: Decimal | None  # price with the taker fee, in the order's favour-ordering


def _offer(venue: VenueConfig, quote: Quote | None, side: Side) -> _Offer:
    if quote is None:
        return _Offer(venue, None, Decimal(0), None)
    if side is Side.BUY:
        price, size = quote.ask_price, quote.ask_size or Decimal(0)
        cost = None if price is None else price * (_ONE + venue.taker_fee)
    else:
        price, size = quote.bid_price, quote.bid_size or Decimal(0)
        # Negated so that a lower cost is better on both sides.
        cost = None if price is None else -price * (_ONE - venue.taker_fee)
    return _Offer(venue, price, size, cost)


def _within_limit(price: Decimal | None, signal: Signal) -> bool:
    if price is None:
        return False
    if signal.price is None or signal.order_type.value in {"market", "stop"}:
        return True
    return price <= signal.price if signal.side is Side.BUY else price >= signal.price


def plan_route(
    signal: Signal,
    venues: Mapping[str, VenueConfig],
    quotes: Mapping[str, Quote],
    instruments: InstrumentBook,
) -> list[VenueAllocation]:
    """The venue plan for a parent order: allocations in the order they should be tried."""
    if signal.exchange is not None:
        return [VenueAllocation(venue=signal.exchange, quantity=signal.quantity, priority=0)]
    listed = [venues[name] for name in instruments.venues_for(signal.symbol) if name in venues]
    if not listed:
        raise NoVenue(f"no configured venue lists {signal.symbol}")
    lit = [venue for venue in listed if not venue.dark]
    dark = sorted((venue for venue in listed if venue.dark), key=lambda v: (v.priority, v.name))
    offers = sorted(
        (_offer(venue, quotes.get(venue.name), signal.side) for venue in lit),
        key=lambda o: (o.cost is None, o.cost, o.venue.priority, o.venue.name),
    )

    planned: dict[str, Decimal] = {}
    remaining = signal.quantity
    for offer in offers:
        if remaining <= 0 or not _within_limit(offer.price, signal):
            continue
        instrument = instruments.get(offer.venue.name, signal.symbol)
        assert instrument is not None  # listed venues come from the instrument book
        take = instrument.round_quantity_down(min(remaining, offer.size))
        if take > 0 and take >= instrument.min_quantity:
            planned[offer.venue.name] = take
            remaining -= take

    if remaining > 0:
        hidden = next((venue for venue in dark if remaining >= venue.min_size), None)
        home = hidden.name if hidden is not None else (offers[0].venue.name if offers else None)
        home = home or dark[0].name
        planned[home] = planned.get(home, Decimal(0)) + remaining

    price_of = {offer.venue.name: offer.price for offer in offers}
    return [
        trusted(  # of the validated order, venues and quotes
            VenueAllocation,
            venue=name,
            quantity=quantity,
            expected_price=price_of.get(name),
            fee_rate=venues[name].taker_fee,
            dark=venues[name].dark,
            priority=rank,
        )
        for rank, (name, quantity) in enumerate(planned.items())
    ]
