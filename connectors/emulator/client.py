"""How to point a ccxt client (Binance's, or Nobitex's for that dialect) at the emulator: the
gateway's own routing (every API URL moved to the emulator, so an unplanned call meets a 404
there instead of looking for the internet; options that keep `load_markets` to one request),
with the account's key.
"""

from __future__ import annotations

from typing import Any

from fillstream.connectors.gateway.client import routing

__all__ = ["ccxt_settings"]


def ccxt_settings(url: str, api_key: str, secret: str, exchange: str = "binance") -> dict[str, Any]:
    """The constructor argument of the `exchange` client for an emulator at `url`."""
    return {"apiKey": api_key, "secret": secret, **routing(exchange, url)}
