"""The ccxt async client of one venue, built from its entry in the venue file.

With an `api_url` (the local emulator, a proxy) every API URL ccxt knows for the exchange keeps
its path but moves to that host, so a call the gateway did not plan meets a 404 there instead
of reaching the real venue. ccxt's own throttle is replaced: each request waits on the
gateway's `TokenBucket` for its endpoint's cost, which ccxt computes from the exchange's API
table (Binance's weights; the Nobitex class's documented limits), so one limiter decides, and
its waits are visible.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support
import ccxt.pro

from fillstream.connectors.gateway.config import Credentials, VenueEntry
from fillstream.connectors.gateway.exchanges import async_exchange, describe

__all__ = ["build_client", "routing"]

# Keep Binance spot to the calls the gateway makes: `load_markets` is then one request.
_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "fetchOpenOrders": {"warnWithoutSymbol": False},
        "createOrder": {"quoteOrderQty": False},
    }
}


def build_client(
    venue: VenueEntry,
    credentials: Credentials,
    *,
    logger: logging.Logger,
    throttle: Callable[[float], Awaitable[None]],
) -> ccxt.async_support.Exchange:
    """The venue's client; ccxt logs its requests to `logger`, which must redact them. Its
    requests give up after the venue's `timeout` setting, and each waits on `throttle` with
    its endpoint's cost as ccxt (or the exchange class) declares it, in place of ccxt's own
    throttle."""
    settings: dict[str, Any] = {
        "apiKey": credentials.api_key.reveal(),
        "secret": credentials.secret.reveal(),
        "timeout": venue.policy.timeout_ms,
        "logger": logger,
        **routing(venue.exchange, venue.api_url),
    }
    if credentials.password is not None:
        settings["password"] = credentials.password.reveal()
    client = async_exchange(venue.exchange)(settings | {"enableRateLimit": True})
    client.throttle = throttle
    if venue.sandbox and venue.api_url is None:
        client.set_sandbox_mode(True)
    return client


def routing(exchange: str, api_url: str | None, ws_url: str | None = None) -> dict[str, Any]:
    """The settings that say where a client goes and what it may call: no throttle of its
    own, the exchange's options, with `api_url` every API URL moved to that host, and with
    `ws_url` every WebSocket URL of its `ccxt.pro` class moved to that one (a live feed's)."""
    settings: dict[str, Any] = {"enableRateLimit": False, "options": _OPTIONS.get(exchange, {})}
    if api_url is not None:
        settings["urls"] = {"api": _moved(describe(exchange)["urls"]["api"], api_url)}
    if ws_url is not None:
        streams = getattr(ccxt.pro, exchange)().describe()["urls"]["api"]["ws"]
        settings.setdefault("urls", {"api": {}})["api"]["ws"] = _moved(streams, ws_url)
    return settings


def _moved(urls: Any, base: str) -> Any:
    """ccxt's URL table (strings, nested by API) with every host replaced by `base`'s."""
    if isinstance(urls, dict):
        return {name: _moved(url, base) for name, url in urls.items()}
    if not isinstance(urls, str):
        return urls
    target, path = urlsplit(base.rstrip("/")), urlsplit(urls).path
    return urlunsplit((target.scheme, target.netloc, target.path + path, "", ""))
