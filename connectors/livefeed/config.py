"""The live feed's venues: one `[feed.venues.<name>]` table per venue in the engine config.

```toml
[feed.venues.binance]
exchange = "binance"                  # a ccxt exchange id, or "nobitex"
symbols = ["BTC/USDT", "ETH/USDT"]    # ccxt unified symbols
api_url = "http://127.0.0.1:8080"     # optional: where its REST API really is
ws_url = "ws://127.0.0.1:8080"        # optional: where its WebSocket streams really are
transport = "auto"                    # optional: auto (streams where ccxt.pro has them),
                                      # stream or poll
poll_interval_seconds = 1.0           # optional: the least time between two polls of a symbol
depth = 100                           # optional: book levels published per side
```

A table of its own rather than the gateway's venues: reading a venue's market needs no
credentials (the gateway's tables require them), a venue may be read without being traded
(a reference market), and the WebSocket URL, transport and depth are the feed's alone. The
name must be a `[[venues]]` entry, as the gateway's are: the records carry it as their venue,
and the router, the simulated venue and TCA know venues by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fillstream.connectors.gateway.exchanges import is_exchange
from fillstream.schemas.jsonl import explain_invalid

__all__ = ["FeedVenue", "parse_feed"]

Transport = Literal["auto", "stream", "poll"]


class _Table(BaseModel):
    """One venue's table, strictly: a misread interval is a venue hammered or a feed asleep."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    exchange: str
    symbols: list[str] = Field(min_length=1)
    api_url: str | None = Field(default=None, pattern=r"^https?://")
    ws_url: str | None = Field(default=None, pattern=r"^wss?://")
    transport: Transport = "auto"
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    depth: int = Field(default=100, ge=1, le=5000)

    @field_validator("exchange")
    @classmethod
    def _known(cls, exchange: str) -> str:
        if not is_exchange(exchange):
            raise ValueError(f"{exchange!r} is not a ccxt exchange id nor one fillstream adds")
        return exchange

    @field_validator("symbols")
    @classmethod
    def _distinct(cls, symbols: list[str]) -> list[str]:
        if not all(symbols) or len(set(symbols)) != len(symbols):
            raise ValueError("symbols must be distinct, non-empty symbols")
        return symbols


@dataclass(frozen=True)
class FeedVenue:
    """A venue the feed reads: where, what, and how (`transport`)."""

    name: str
    exchange: str
    symbols: tuple[str, ...]
    api_url: str | None = None
    ws_url: str | None = None
    transport: Transport = "auto"
    poll_interval_seconds: float = 1.0
    depth: int = 100


def parse_feed(section: Any, where: str = "feed") -> dict[str, FeedVenue]:
    """The `[feed]` section's venues by name; raises ValueError naming the table and field."""
    if not isinstance(section, Mapping) or set(section) != {"venues"}:
        raise ValueError(f"{where}: expected only [{where}.venues.<name>] tables")
    venues = section["venues"]
    if not isinstance(venues, Mapping) or not venues:
        raise ValueError(f"{where}: no venues: add a [{where}.venues.<name>] table per venue")
    parsed = {}
    for name, table in venues.items():
        try:
            entry = _Table.model_validate(table)
        except ValidationError as error:
            raise ValueError(f"[{where}.venues.{name}]: {explain_invalid(error)}") from None
        parsed[name] = FeedVenue(
            name=name, **{**entry.model_dump(), "symbols": tuple(entry.symbols)}
        )
    return parsed
