"""Which modifications of a working order are taken: those that can only lower its risk.

A `modify` command reaches the executor and the OMS on the order's partition, never risk (risk
is partitioned by account), so nothing re-checks the new terms against the account's limits or
the price collar. A modify may therefore only shrink what risk approved: a smaller quantity, or
a limit price further from the market (lower for a buy, higher for a sell). Anything more
(more quantity, a more aggressive price) is a new signal, which risk checks like any other.

The rule reads only the order's current terms, never its fills, so the executor and the OMS,
which see fills at different moments, decide every modify alike. A quantity below what is
already filled is taken too: the order then ends once what is working at the venues has ended,
with whatever it filled (`ParentOrderState.quantity`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from fillstream.schemas.models import Command, OrderType, Side, Signal

__all__ = ["Terms", "amended", "refusal"]


class Terms(Protocol):
    """What the rule reads of an order: a signal, or its published `OrderState`."""

    @property
    def side(self) -> Side: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def price(self) -> Decimal | None: ...


def refusal(terms: Terms, command: Command) -> str | None:
    """Why the modify `command` cannot apply to an order with `terms`, or None if it can."""
    quantity, price = command.quantity, command.price
    if quantity is not None and quantity > terms.quantity:
        return (
            f"a modify may not raise the quantity ({terms.quantity} to {quantity}): send a new "
            "signal for more, so that pre-trade risk checks it"
        )
    if price is None:
        return None
    if terms.price is None:
        return f"a {terms.order_type.value} order has no limit price to change"
    if price > terms.price if terms.side is Side.BUY else price < terms.price:
        return (
            f"a modify may not move a {terms.side.value} limit toward the market "
            f"({terms.price} to {price}): cancel and send a new signal, so that pre-trade risk "
            "checks the price"
        )
    return None


def amended(terms: Signal, command: Command) -> Signal:
    """The order's terms with the modify's new quantity and limit price (where it has them)."""
    changes: dict[str, Decimal] = {}
    if command.quantity is not None:
        changes["quantity"] = command.quantity
    if command.price is not None:
        changes["price"] = command.price
    return terms.model_copy(update=changes)
