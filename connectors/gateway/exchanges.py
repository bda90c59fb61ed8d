"""The exchanges a venue table may name: ccxt's own, and those fillstream adds to them.

ccxt has no Nobitex with trading, so the gateway carries its own (`nobitex.py`). This is the
one place that says so: the venue file's check and the client's construction both ask here,
and a venue table names `exchange = "nobitex"` as it names `"binance"`.
"""

from __future__ import annotations

from typing import Any

import ccxt
import ccxt.async_support

from fillstream.connectors.gateway.nobitex import Nobitex

__all__ = ["async_exchange", "describe", "is_exchange"]

_ADDED: dict[str, type[ccxt.async_support.Exchange]] = {"nobitex": Nobitex}


def is_exchange(exchange: str) -> bool:
    return exchange in _ADDED or exchange in ccxt.exchanges


def async_exchange(exchange: str) -> type[ccxt.async_support.Exchange]:
    """The async client class of `exchange`."""
    return _ADDED.get(exchange) or getattr(ccxt.async_support, exchange)


def describe(exchange: str) -> dict[str, Any]:
    """The exchange's description (URLs, capabilities), read without opening a session: the
    synchronous class for ccxt's own."""
    added = _ADDED.get(exchange)
    return (added() if added is not None else getattr(ccxt, exchange)()).describe()
