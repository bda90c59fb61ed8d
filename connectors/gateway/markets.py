"""A venue's instrument rules from ccxt's markets, so the gateway checks what the venue checks.

ccxt states precision in one of three modes per exchange (`exchange.precisionMode`): tick
sizes (Binance, most venues today), decimal places, or significant digits. Only the first two
give a fixed tick and lot; a market in significant digits has no grid to check against.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt

from fillstream.domain.instruments import Instrument

__all__ = ["instrument_from_market"]


def instrument_from_market(
    venue: str, market: Mapping[str, Any], precision_mode: int
) -> Instrument:
    """One ccxt unified market (`exchange.markets[symbol]`) as an `Instrument` of `venue`."""
    symbol = market["symbol"]
    precision, limits = market.get("precision") or {}, market.get("limits") or {}
    return Instrument(
        venue=venue,
        symbol=symbol,
        tick_size=_step(symbol, "price", precision.get("price"), precision_mode),
        lot_size=_step(symbol, "amount", precision.get("amount"), precision_mode),
        min_quantity=_minimum((limits.get("amount") or {}).get("min")),
        min_notional=_minimum((limits.get("cost") or {}).get("min")),
    )


def _step(symbol: str, field: str, value: Any, mode: int) -> Decimal:
    if value is None:
        raise ValueError(f"{symbol}: the market states no {field} precision")
    if mode == ccxt.TICK_SIZE:
        step = Decimal(str(value))
    elif mode == ccxt.DECIMAL_PLACES:
        step = Decimal(1).scaleb(-int(value))
    else:
        raise ValueError(f"{symbol}: {field} precision in mode {mode} gives no fixed step")
    if step <= 0:
        raise ValueError(f"{symbol}: {field} step {step} is not positive")
    return step


def _minimum(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
