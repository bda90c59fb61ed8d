"""A bracket: a signal with `take_profit` and/or `stop_loss` prices, whose entry is followed,
as it fills, by exit orders that close what it opened (docs/ALGORITHMS.md, "Brackets").

The legs are orders of their own, derived from the bracket's approved order alone, so the
OMS, the executor and the audit agree on them without any message between them: the
take-profit a GTC limit at `take_profit`, the stop-loss a stop at `stop_loss`, both of the
opposite side, for at most the entry's quantity. A leg's id comes from its bracket's order id
under a prefix of its own (`tp-`, `sl-`), which no order id of a signal has (those start
with `o-`), so it can never name another order, and the bracket is found back from it.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import pairwise

from fillstream.schemas.models import OrderType, ParentOrder, Side, Signal, TimeInForce
from fillstream.streams.execution import collar

__all__ = ["LegKind", "bracket_of", "bracket_problem", "leg_id", "leg_orders"]

_ORDER_PREFIX = "o-"
_EXIT = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}


class LegKind(StrEnum):
    """A bracket's leg; its value prefixes the leg's order id."""

    TAKE_PROFIT = "tp"
    STOP_LOSS = "sl"


def leg_id(order_id: str, kind: LegKind) -> str:
    """The order id of the bracket `order_id`'s leg `kind`."""
    return f"{kind.value}-{order_id.removeprefix(_ORDER_PREFIX)}"


def bracket_of(order_id: str) -> str | None:
    """The bracket's order id if `order_id` is one of its legs', else None."""
    kind, _, rest = order_id.partition("-")
    return _ORDER_PREFIX + rest if rest and kind in LegKind._value2member_map_ else None


def bracket_problem(signal: Signal) -> str | None:
    """Why a signal's legs cannot close what its entry opens, or None (also for no bracket).
    A buy's stop-loss lies below its entry's own price (its limit, else its stop price, where
    it has one), and that below its take-profit; a sell's the reverse."""
    entry = signal.price if signal.price is not None else signal.stop_price
    points = [
        ("stop_loss", signal.stop_loss),
        ("entry price", entry),
        ("take_profit", signal.take_profit),
    ]
    if signal.side is Side.SELL:
        points.reverse()
    known = [(name, price) for name, price in points if price is not None]
    for (low_name, low), (high_name, high) in pairwise(known):
        if low >= high:
            return f"a {signal.side.value}'s {low_name} {low} must be below its {high_name} {high}"
    return None


def leg_orders(bracket: ParentOrder) -> list[ParentOrder]:
    """The bracket's legs as orders: take-profit first; none for an order without a bracket.
    A leg keeps the bracket's signal id (its reports trace back to the bracket's signal) and
    none of its allocation group, algorithm or expiry (its slippage collar it keeps): it rests
    until it fills or is cancelled."""
    signal = bracket.signal
    legs = []
    prices = ((LegKind.TAKE_PROFIT, signal.take_profit), (LegKind.STOP_LOSS, signal.stop_loss))
    for kind, price in prices:
        if price is None:
            continue
        take_profit = kind is LegKind.TAKE_PROFIT
        terms = signal.model_copy(
            update={
                "side": _EXIT[signal.side],
                "order_type": OrderType.LIMIT if take_profit else OrderType.STOP,
                "price": price if take_profit else None,
                "stop_price": None if take_profit else price,
                "display_quantity": None,
                "time_in_force": TimeInForce.GTC,
                "expire_at": None,
                "algorithm": None,
                "algorithm_parameters": {
                    k: v for k, v in signal.algorithm_parameters.items() if k == collar.PARAMETER
                },
                "urgency": None,
                "confidence": None,
                "allocation_group": None,
                "stop_loss": None,
                "take_profit": None,
            }
        )
        legs.append(
            ParentOrder(
                order_id=leg_id(bracket.order_id, kind),
                signal=terms,
                max_slippage_bps=bracket.max_slippage_bps,
                approved_at=bracket.approved_at,
            )
        )
    return legs
