"""How to point ccxt's Binance client at the emulator: the settings CCXT-EMULATOR.md lists.

Every API URL ccxt knows for Binance goes to the emulator, so an unplanned call meets a 404
there instead of looking for the internet; the options keep `load_markets` to one request.
"""

from __future__ import annotations

from typing import Any

import ccxt

__all__ = ["ccxt_settings"]

_PATHS = {"public": "/api/v3", "private": "/api/v3", "v1": "/api/v1", "sapi": "/sapi/v1"}


def ccxt_settings(url: str, api_key: str, secret: str) -> dict[str, Any]:
    """The constructor argument of `ccxt.async_support.binance` for an emulator at `url`."""
    names = ccxt.binance.describe(ccxt.binance())["urls"]["api"]
    return {
        "apiKey": api_key,
        "secret": secret,
        "enableRateLimit": False,
        "urls": {"api": {name: url + _PATHS.get(name, f"/{name}") for name in names}},
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchOpenOrders": {"warnWithoutSymbol": False},
            "createOrder": {"quoteOrderQty": False},
        },
    }
