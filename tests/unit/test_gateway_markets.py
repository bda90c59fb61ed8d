"""Instrument rules from ccxt markets, in the precision modes that give a grid."""

from __future__ import annotations

from decimal import Decimal as D

import ccxt
import pytest

from fillstream.connectors.gateway.markets import instrument_from_market
from fillstream.domain.instruments import Instrument

MARKET = {
    "symbol": "BTC/USDT",
    "precision": {"price": 0.01, "amount": 1e-05},
    "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0, "max": None}},
}


def test_tick_size_mode() -> None:
    assert instrument_from_market("binance", MARKET, ccxt.TICK_SIZE) == Instrument(
        "binance", "BTC/USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5.0")
    )


def test_decimal_places_mode_and_absent_minimums() -> None:
    market = {"symbol": "ETH/EUR", "precision": {"price": 2, "amount": 4}, "limits": {}}
    assert instrument_from_market("kraken", market, ccxt.DECIMAL_PLACES) == Instrument(
        "kraken", "ETH/EUR", D("0.01"), D("0.0001"), D(0), D(0)
    )


def test_markets_without_a_grid_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="BTC/USDT: price precision in mode 3"):
        instrument_from_market("x", MARKET, ccxt.SIGNIFICANT_DIGITS)
    with pytest.raises(ValueError, match="BTC/USDT: the market states no amount precision"):
        instrument_from_market("x", MARKET | {"precision": {"price": 0.01}}, ccxt.TICK_SIZE)
