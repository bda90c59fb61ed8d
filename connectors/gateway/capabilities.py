"""Which order types and times in force a venue holds itself, and how the gateway sends a slice.

A venue either holds an order type natively (the gateway sends it through ccxt's unified
parameters and the venue triggers, hides or expires it) or it does not, and then the order is
emulated: a DAY or GTD limit goes as GTC and the gateway cancels it at its expiry (`cancel_at`,
computed from the slice alone, so a restarted gateway reading the slice from its journal
cancels at the same time), and an IOC limit goes as GTC and the gateway cancels what is left of
it as soon as the venue has answered (the executor's marketable children and collared market
orders are IOC limits, so a venue without IOC, Nobitex, could otherwise take no taking order);
a fill-or-kill cannot be emulated after the fact and is refused; a stop or an iceberg the
gateway cannot emulate, so it refuses the slice with `NOT_NATIVE`, naming where the emulation
belongs (the trigger on the market feed, or the iceberg algorithm's slicing).

The table is keyed by ccxt's exchange id, so adding a venue is one row. A venue not in the
table gets `BASELINE`, what every ccxt spot venue takes: market, and limit GTC, IOC or FOK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from fillstream.connectors.gateway.reasons import GatewayReason
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.connectors.simvenue.session import SessionRule
from fillstream.schemas.models import OrderType, Slice, TimeInForce

__all__ = [
    "BASELINE",
    "CAPABILITIES",
    "Capabilities",
    "OrderArgs",
    "cancel_at",
    "capabilities_of",
    "expiry_reason",
    "order_args",
    "refusal",
]

_GTC = TimeInForce.GTC
_EXPIRING = frozenset({TimeInForce.DAY, TimeInForce.GTD})
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})
# What the gateway emulates where the venue lacks it, by cancelling the order itself.
_EMULATED = _EXPIRING | {TimeInForce.IOC}
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
# A market-like order has no time in force at a ccxt spot venue (Binance's MARKET, STOP_LOSS).
_PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG})
# Where the gateway cannot emulate an order type, who can: the reason's advice.
_EMULATED_BY = {
    OrderType.STOP: "the stop must be held upstream and sent when the market reaches it",
    OrderType.STOP_LIMIT: "the stop must be held upstream and sent when the market reaches it",
    OrderType.ICEBERG: "use the iceberg algorithm, which rests display_quantity at a time",
}


@dataclass(frozen=True)
class Capabilities:
    """What a venue holds natively through ccxt: its time in force values for a priced order,
    stop-market and stop-limit with a trigger price, and icebergs with a displayed quantity.
    `session` says when a DAY order ends there (UTC midnight on a 24/7 venue)."""

    time_in_force: frozenset[TimeInForce] = frozenset({_GTC, *_IMMEDIATE})
    stops: bool = False
    iceberg: bool = False
    session: SessionRule = field(default_factory=SessionRule)

    def native(self, order_type: OrderType) -> bool:
        if order_type in _STOPS:
            return self.stops
        return order_type is not OrderType.ICEBERG or self.iceberg


BASELINE = Capabilities()
CAPABILITIES: dict[str, Capabilities] = {
    # Spot: STOP_LOSS / STOP_LOSS_LIMIT from ccxt's `triggerPrice`, `icebergQty` from its
    # `icebergAmount` (GTC only); no DAY or GTD (ccxt's features: spot timeInForce GTD false).
    "binance": Capabilities(stops=True, iceberg=True),
    # Spot: `stop_market` / `stop_limit` with `stopPrice` from ccxt's `triggerPrice`; every
    # order is good till cancelled (no IOC, FOK, DAY or GTD), and no iceberg.
    "nobitex": Capabilities(time_in_force=frozenset({_GTC}), stops=True),
}


def capabilities_of(exchange: str) -> Capabilities:
    """The capabilities of the venue with ccxt exchange id `exchange`."""
    return CAPABILITIES.get(exchange, BASELINE)


class OrderArgs(NamedTuple):
    """ccxt's `create_order` arguments but the symbol, side and amount."""

    type: str
    price: float | None
    params: dict[str, Any]


def refusal(slice_: Slice, capabilities: Capabilities, now_us: int) -> str | None:
    """Why the gateway cannot send this slice to the venue (`"CODE: message"`), if it cannot."""
    kind, time_in_force = slice_.order_type, slice_.time_in_force
    if not capabilities.native(kind):
        return GatewayReason.NOT_NATIVE.text(order_type=kind.value, emulation=_EMULATED_BY[kind])
    if kind in _PRICED and time_in_force not in capabilities.time_in_force | _EMULATED:
        detail = f"the venue takes no {time_in_force.value} {kind.value} orders"
        return GatewayReason.INVALID_ORDER.text(detail=detail)
    if (
        kind in _STOPS
        and time_in_force is TimeInForce.IOC
        and TimeInForce.IOC not in capabilities.time_in_force
    ):  # cancelled as soon as placed, a stop would never trigger
        detail = f"the venue takes no IOC {kind.value} orders (emulated for limit orders only)"
        return GatewayReason.INVALID_ORDER.text(detail=detail)
    if kind is OrderType.ICEBERG and time_in_force in _IMMEDIATE:
        detail = f"an iceberg rests (GTC, DAY or GTD), not {time_in_force.value}"
        return GatewayReason.INVALID_ORDER.text(detail=detail)
    if slice_.post_only and (
        kind not in {OrderType.LIMIT, OrderType.ICEBERG} or time_in_force in _IMMEDIATE
    ):
        return VenueReason.POST_ONLY_CANNOT_REST.text(
            time_in_force=time_in_force.value, order_type=kind.value
        )
    expiry = cancel_at(slice_, capabilities) if time_in_force in _EXPIRING else None
    if expiry is not None and expiry <= now_us:
        return VenueReason.ALREADY_EXPIRED.text(expire_at=expiry, arrival=now_us)
    return None


def order_args(slice_: Slice, capabilities: Capabilities) -> OrderArgs:
    """How a slice `refusal` let through goes to ccxt: its unified type and params.

    A stop is a market order, a stop-limit a limit order, each with `triggerPrice` (ccxt makes
    them Binance's STOP_LOSS and STOP_LOSS_LIMIT: a buy triggers at or above the price, a sell
    at or below); an iceberg is a limit order with `icebergAmount`; a time in force the venue
    lacks goes as GTC (the gateway cancels it at `cancel_at`); post-only is ccxt's `postOnly`.
    """
    params: dict[str, Any] = {"clientOrderId": slice_.slice_id}
    if slice_.stop_price is not None and slice_.order_type in _STOPS:
        params["triggerPrice"] = float(slice_.stop_price)
    if slice_.order_type is OrderType.ICEBERG and slice_.display_quantity is not None:
        params["icebergAmount"] = float(slice_.display_quantity)
    if slice_.order_type not in _PRICED:
        return OrderArgs("market", None, params)
    if slice_.post_only:
        params["postOnly"] = True  # Binance spot: a LIMIT_MAKER order
    else:
        time_in_force = slice_.time_in_force
        native = time_in_force in capabilities.time_in_force
        params["timeInForce"] = (time_in_force if native else _GTC).value
    price = float(slice_.price) if slice_.price is not None else None
    return OrderArgs("limit", price, params)


def cancel_at(slice_: Slice, capabilities: Capabilities) -> int | None:
    """When the gateway cancels the slice's order (µs UTC): a DAY or GTD order the venue cannot
    expire itself, at its expiry; an IOC order the venue cannot cancel itself, at once (its
    creation: due as soon as the venue has answered); None when the venue ends it itself, or
    it never ends."""
    time_in_force = slice_.time_in_force
    if time_in_force not in _EMULATED or time_in_force in capabilities.time_in_force:
        return None
    if time_in_force is TimeInForce.IOC:  # a market order ends by itself
        return slice_.created_at if slice_.order_type is OrderType.LIMIT else None
    if time_in_force is TimeInForce.DAY:
        return capabilities.session.day_end(slice_.created_at)
    return slice_.expire_at


def expiry_reason(slice_: Slice, leaves: Decimal) -> str:
    """The reason of the report that ends an order the gateway cancelled at its expiry (with
    `leaves` unfilled): the simulated venue's, so a reader cannot tell which venue ended it."""
    if slice_.time_in_force is TimeInForce.IOC:
        return VenueReason.IOC_REMAINDER.text(leaves=leaves)
    day = slice_.time_in_force is TimeInForce.DAY
    return (VenueReason.SESSION_CLOSED if day else VenueReason.EXPIRE_AT_REACHED).text()
