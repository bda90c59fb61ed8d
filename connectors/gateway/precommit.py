"""Pre-commit: the checks a slice passes before it may be sent, so the venue refuses nothing
the gateway could have known about.

The instrument's rules come first: the simulated venue's own checks (fields, tick, lot,
minimum quantity; `simvenue.rules.instrument_rules`) and its minimum notional, with its reason
codes; then the balance: a buy needs its notional in the quote asset,
a sell its quantity in the base asset, out of what is free at the venue less what the gateway
has reserved for its orders the venue has not yet counted (sent, not yet acknowledged).
An order without a price (market, stop) is priced at a reference price (the touch it would
take) for both checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from fillstream.connectors.gateway.reasons import GatewayReason
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.connectors.simvenue.rules import instrument_rules
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import Side, Slice, SliceAction

__all__ = ["PreCommit", "Reservation", "assets_of", "pre_commit", "reserved"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class PreCommit:
    """`reason` is None when the slice may be sent, else the report's `"CODE: message"`."""

    reason: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Reservation:
    """Balance held for an order the venue's balances do not reflect yet."""

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal


def assets_of(symbol: str) -> tuple[str, str]:
    """`BTC/USDT` and `BTC/USDT:USDT` → (`BTC`, `USDT`): ccxt's unified symbols."""
    base, _, rest = symbol.partition("/")
    quote = rest.partition(":")[0]
    if not base or not quote:
        raise ValueError(f"{symbol!r} is not a ccxt symbol BASE/QUOTE")
    return base, quote


def reserved(reservations: Iterable[Reservation]) -> dict[str, Decimal]:
    """What each asset has reserved: a buy's notional in its quote, a sell's quantity in base."""
    held: dict[str, Decimal] = {}
    for item in reservations:
        base, quote = assets_of(item.symbol)
        asset, amount = (
            (quote, item.quantity * item.price) if item.side is Side.BUY else (base, item.quantity)
        )
        held[asset] = held.get(asset, _ZERO) + amount
    return held


def pre_commit(
    slice_: Slice,
    instrument: Instrument | None,
    free: Mapping[str, Decimal],
    reservations: Mapping[str, Decimal],
    reference_price: Decimal | None = None,
) -> PreCommit:
    """May this new slice go to the venue? `free` and `reservations` are by asset."""
    if slice_.action is not SliceAction.NEW:
        return _refuse(GatewayReason.NOT_A_NEW_ORDER, action=slice_.action.value)
    if instrument is None:
        return _refuse(VenueReason.UNKNOWN_SYMBOL, symbol=slice_.symbol, venue=slice_.venue)
    refusal = instrument_rules(slice_, instrument)
    if refusal is not None:
        return PreCommit(refusal)
    price = slice_.price if slice_.price is not None else reference_price
    if price is None:
        return _refuse(GatewayReason.NO_REFERENCE_PRICE, order_type=slice_.order_type.value)
    notional = slice_.quantity * price
    if notional < instrument.min_notional:
        return _refuse(
            VenueReason.BELOW_MIN_NOTIONAL,
            notional=notional,
            price=price,
            minimum=instrument.min_notional,
        )
    base, quote = assets_of(slice_.symbol)
    asset, needed = (quote, notional) if slice_.side is Side.BUY else (base, slice_.quantity)
    have, held = free.get(asset, _ZERO), reservations.get(asset, _ZERO)
    if needed > have - held:
        return _refuse(
            GatewayReason.INSUFFICIENT_BALANCE,
            needed=needed,
            asset=asset,
            available=have - held,
            free=have,
            reserved=held,
        )
    return PreCommit()


def _refuse(reason: GatewayReason | VenueReason, **facts: object) -> PreCommit:
    return PreCommit(reason.text(**facts))
