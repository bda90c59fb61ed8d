"""What the venue accepts: the checks an order meets when it reaches the matching engine.

Each check returns the report's reason, or None. They run in a fixed order and the first
refusal wins: the slice is for this venue; it carries the fields its order type needs (the
`Slice` contract leaves them optional); its prices are on the tick grid and its quantities
(the display quantity too) are whole lots; it meets the instrument's minimum quantity and
notional and the venue's minimum size; a post-only order can rest and would not cross; a GTD
order has not already expired.

The notional is quantity × the order's price: the limit price, the stop price of a stop order,
and for a market order the current touch of the view (the check is skipped when that side of
the book is empty; the order will then find nothing to take). Fields an order type does not use
(the price of a market order, the display quantity of a plain limit) are ignored.
"""

from __future__ import annotations

from decimal import Decimal

from fillstream.connectors.simvenue.book import BookView, accepts
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.domain.instruments import Instrument
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.models import OrderType, Slice, TimeInForce

__all__ = ["check_order", "instrument_rules"]

_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG})
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
_CAN_POST = frozenset({OrderType.LIMIT, OrderType.ICEBERG})
_RESTING_TIF = frozenset({TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD})


def check_order(
    order: Slice, instrument: Instrument, book: BookView, venue: VenueConfig, arrival: int
) -> str | None:
    """Why the venue refuses `order` arriving at `arrival`, or None if it accepts it."""
    return (
        _for_this_venue(order, venue)
        or instrument_rules(order, instrument)
        or _minimums(order, instrument, venue, book)
        or _post_only(order, book)
        or _not_expired(order, arrival)
    )


def instrument_rules(order: Slice, instrument: Instrument) -> str | None:
    """The checks that need only the order and its instrument (its fields, the tick grid,
    whole lots, the minimum quantity): the ccxt gateway's pre-commit runs them too, so a real
    venue is never sent what the simulated one would refuse, under the same reason codes."""
    return (
        _order_fields(order)
        or _on_tick(order, instrument)
        or _whole_lots(order, instrument)
        or _min_quantity(order, instrument)
    )


def _for_this_venue(order: Slice, venue: VenueConfig) -> str | None:
    if order.venue != venue.name:
        return VenueReason.WRONG_VENUE.text(venue=order.venue, here=venue.name)
    return None


def _order_fields(order: Slice) -> str | None:
    kind = order.order_type
    if kind in _PRICED and order.price is None:
        return VenueReason.MISSING_PRICE.text(order_type=kind.value)
    if kind in _STOPS and order.stop_price is None:
        return VenueReason.MISSING_STOP_PRICE.text(order_type=kind.value)
    display = order.display_quantity
    if kind is OrderType.ICEBERG and (display is None or display > order.quantity):
        return VenueReason.BAD_DISPLAY_QUANTITY.text(quantity=order.quantity)
    if order.time_in_force is TimeInForce.GTD and order.expire_at is None:
        return VenueReason.MISSING_EXPIRE_AT.text()
    return None


def _on_tick(order: Slice, instrument: Instrument) -> str | None:
    prices = {
        "price": order.price if order.order_type in _PRICED else None,
        "stop_price": order.stop_price if order.order_type in _STOPS else None,
    }
    for field, price in prices.items():
        if price is not None and not instrument.is_on_tick(price):
            return VenueReason.PRICE_OFF_TICK.text(
                field=field, price=price, tick_size=instrument.tick_size
            )
    return None


def _whole_lots(order: Slice, instrument: Instrument) -> str | None:
    quantities = {
        "quantity": order.quantity,
        "display_quantity": (
            order.display_quantity if order.order_type is OrderType.ICEBERG else None
        ),
    }
    for field, quantity in quantities.items():
        if quantity is not None and not instrument.is_whole_lots(quantity):
            return VenueReason.QUANTITY_OFF_LOT.text(
                field=field, quantity=quantity, lot_size=instrument.lot_size
            )
    return None


def _min_quantity(order: Slice, instrument: Instrument) -> str | None:
    if order.quantity < instrument.min_quantity:
        return VenueReason.BELOW_MIN_QUANTITY.text(
            quantity=order.quantity, minimum=instrument.min_quantity
        )
    return None


def _minimums(
    order: Slice, instrument: Instrument, venue: VenueConfig, book: BookView
) -> str | None:
    price = _reference_price(order, book)
    if price is not None and order.quantity * price < instrument.min_notional:
        return VenueReason.BELOW_MIN_NOTIONAL.text(
            notional=order.quantity * price, price=price, minimum=instrument.min_notional
        )
    if order.quantity < venue.min_size:
        return VenueReason.BELOW_VENUE_MIN_SIZE.text(
            quantity=order.quantity, minimum=venue.min_size
        )
    return None


def _reference_price(order: Slice, book: BookView) -> Decimal | None:
    if order.order_type is OrderType.MARKET:
        return book.touch(order.side)
    if order.order_type is OrderType.STOP:
        return order.stop_price
    return order.price


def _post_only(order: Slice, book: BookView) -> str | None:
    if not order.post_only:
        return None
    if order.order_type not in _CAN_POST or order.time_in_force not in _RESTING_TIF:
        return VenueReason.POST_ONLY_CANNOT_REST.text(
            time_in_force=order.time_in_force.value, order_type=order.order_type.value
        )
    touch = book.touch(order.side)
    assert order.price is not None  # checked by _order_fields
    if touch is not None and accepts(order.side, order.price, touch):
        return VenueReason.POST_ONLY_WOULD_CROSS.text(
            side=order.side.value, price=order.price, touch=touch
        )
    return None


def _not_expired(order: Slice, arrival: int) -> str | None:
    expire_at = order.expire_at
    if order.time_in_force is TimeInForce.GTD and expire_at is not None and expire_at <= arrival:
        return VenueReason.ALREADY_EXPIRED.text(expire_at=expire_at, arrival=arrival)
    return None
