"""The symbols the emulator lists: Binance's names for fillstream's instruments, and their rules.

An instrument `BTC/USDT` is listed as `BTCUSDT` (base BTC, quote USDT); its tick, lot and
minimums become the PRICE_FILTER, LOT_SIZE and NOTIONAL filters of exchangeInfo, from which
ccxt takes a market's precision and limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fillstream.connectors.emulator.market import SymbolMarket
from fillstream.connectors.emulator.orders import ORDER_TYPES
from fillstream.domain.instruments import Instrument
from fillstream.schemas.decimals import format_decimal

__all__ = ["Listing"]

# Upper bounds Binance publishes for BTCUSDT; the emulator enforces none of them.
_MAX_PRICE = Decimal(1_000_000)
_MAX_QUANTITY = Decimal(9_000)
_MAX_NOTIONAL = Decimal(9_000_000)
_ASSET_PRECISION = 8


@dataclass
class Listing:
    """One listed instrument with its public market."""

    instrument: Instrument
    market: SymbolMarket = field(default_factory=SymbolMarket)

    def __post_init__(self) -> None:
        base, slash, quote = self.instrument.symbol.partition("/")
        if not slash or ":" in quote:
            raise ValueError(f"{self.instrument.symbol}: the emulator lists spot pairs BASE/QUOTE")
        self.base, self.quote = base, quote

    @property
    def symbol(self) -> str:
        """Binance's name: BTCUSDT."""
        return self.base + self.quote

    def exchange_info(self) -> dict[str, Any]:
        """The symbol's entry in exchangeInfo."""
        instrument = self.instrument
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": _ASSET_PRECISION,
            "quoteAsset": self.quote,
            "quotePrecision": _ASSET_PRECISION,
            "quoteAssetPrecision": _ASSET_PRECISION,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": True,
            "ocoAllowed": False,
            "quoteOrderQtyMarketAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "permissions": ["SPOT"],
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": format_decimal(instrument.tick_size),
                    "maxPrice": format_decimal(_MAX_PRICE),
                    "tickSize": format_decimal(instrument.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": format_decimal(max(instrument.min_quantity, instrument.lot_size)),
                    "maxQty": format_decimal(_MAX_QUANTITY),
                    "stepSize": format_decimal(instrument.lot_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": format_decimal(instrument.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": format_decimal(_MAX_NOTIONAL),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 0,
                },
            ],
        }
