"""How big the next child of an algorithm's parent is: the rules every algorithm shares.

- Never more than the parent's remaining quantity (quantity − filled − working): the
  executor sends a child only when none is working, so fills can never exceed the parent.
- Whole lots, rounded down, so the schedule never runs ahead of itself.
- The algorithm's largest child, but never below the smallest worth sending.
- Nothing below the venue's minimum (minimum quantity, minimum notional at the price the child
  would trade at) or the algorithm's own smallest child: the gap waits until it is big enough.
  When everything is due, the child is that smallest size, or the rest if less.
- A remainder that would be too small to trade on its own is folded into this child, even past
  the algorithm's largest child: so a parent that executes fully fills exactly its quantity,
  where a naive slicer leaves a stranded remainder below the venue's minimum.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from fillstream.domain.instruments import Instrument

__all__ = ["child_quantity", "smallest_child"]


def smallest_child(instrument: Instrument | None, price: Decimal, floor: Decimal) -> Decimal:
    """The least quantity worth a child: the venue's minimums at `price`, and `floor`."""
    if instrument is None:
        return floor
    return max(
        _lots_up(floor, instrument.lot_size),
        instrument.min_quantity,
        _lots_up(instrument.min_notional / price, instrument.lot_size),
    )


def _lots_up(quantity: Decimal, lot: Decimal) -> Decimal:
    return (quantity / lot).to_integral_value(rounding=ROUND_CEILING) * lot


def child_quantity(
    *,
    quantity: Decimal,
    done: Decimal,
    target: Decimal,
    lot: Decimal | None,
    smallest: Decimal,
    largest: Decimal | None,
) -> Decimal | None:
    """The next child's quantity, or None to wait. `done` is what is filled or working."""
    remaining = quantity - done
    gap = min(target, quantity) - done
    if gap <= 0 or remaining <= 0:
        return None
    size = gap if largest is None else min(gap, max(largest, smallest))
    if lot is not None:
        size = (size // lot) * lot
    if size < smallest or size <= 0:
        if gap < remaining:
            return None  # more is coming: wait until the gap is worth a child
        size = min(remaining, smallest)  # all is due: the least worth a child, or the rest
    if 0 < remaining - size < smallest:
        size = remaining
    return size
