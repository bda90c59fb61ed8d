"""The live feed's decisions, without network, Kafka or clock: ccxt's market structures in,
the market topics' records out.

- **Records** (`quote_of`, `trade_of`, `book_state`) in the recorded feeds' contract
  (connectors/feeds/binance.py): ccxt's unified symbol, the configured venue name, the
  exchange's time in µs where the venue gives one, else the time of receipt; `received_at`
  always the time of receipt.
- **Books** (`BookKeeper`): a venue's book as ccxt keeps it (ccxt.pro applies the venue's
  diffs by its sequence rules and raises on a gap; a poll fetches a snapshot) is published as
  a snapshot after every (re)synchronisation, then as diffs between the states seen, which
  chain by update id: a diff runs from the previous state's update id + 1 to its own. A state
  no newer than the last published is stale and dropped.
- **Trades** (`TradeTape`): each trade id is published once per venue and symbol, however
  often a venue, a reconnection or an overlapping poll repeats it.
- **Freshness** (`Freshness`): per venue and symbol, seconds since anything was received.

Numbers. ccxt turns a venue's decimal strings into floats. A float read from a decimal of at
most 15 significant digits converts back to that decimal exactly by its shortest repr (a
double holds 15.95 digits), which every venue's price and size grid fits; `exact` does that,
and refuses nothing else (a string is parsed as it is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fillstream.domain.ids import RecentIds
from fillstream.schemas.decimals import parse_decimal
from fillstream.schemas.models import (
    BookUpdate,
    BookUpdateKind,
    Metric,
    MetricKind,
    PriceLevel,
    Quote,
    Side,
    Trade,
)

__all__ = [
    "BookKeeper",
    "BookState",
    "Freshness",
    "TradeTape",
    "book_state",
    "exact",
    "quote_of",
    "trade_of",
    "trades_of",
]

MS_US = 1_000
SECOND_US = 1_000_000
# Trade ids remembered per venue and symbol: a reconnection or a poll repeats at most the
# venue's recent trades (Binance returns 500 by default, 1,000 at most).
TRADE_MEMORY = 10_000

Level = tuple[Decimal, Decimal]


def exact(value: float | int | str) -> Decimal:
    """A number from ccxt as an exact decimal (see the module docstring)."""
    if isinstance(value, str):
        return parse_decimal(value)
    if isinstance(value, float):
        return parse_decimal(repr(value))
    return Decimal(value)


def _time_us(venue_ms: Any, received_us: int) -> int:
    return int(venue_ms) * MS_US if venue_ms is not None else received_us


def quote_of(venue: str, ticker: Mapping[str, Any], received_us: int) -> Quote | None:
    """A ccxt ticker (or best bid and ask) as a quote; None when it quotes neither side."""
    bid, ask = ticker.get("bid"), ticker.get("ask")
    if not bid and not ask:
        return None
    bid_size, ask_size = ticker.get("bidVolume"), ticker.get("askVolume")
    return Quote(
        symbol=ticker["symbol"],
        venue=venue,
        bid_price=exact(bid) if bid else None,
        bid_size=exact(bid_size) if bid and bid_size is not None else None,
        ask_price=exact(ask) if ask else None,
        ask_size=exact(ask_size) if ask and ask_size is not None else None,
        timestamp=_time_us(ticker.get("timestamp"), received_us),
        received_at=received_us,
    )


def touch_of(venue: str, book: BookState) -> Quote | None:
    """The best bid and ask of a book as received, as a quote; None for an empty book."""
    (bid, bid_size), (ask, ask_size) = (
        side[0] if side else (None, None) for side in (book.bids, book.asks)
    )
    if bid is None and ask is None:
        return None
    return Quote(
        symbol=book.symbol,
        venue=venue,
        bid_price=bid,
        bid_size=bid_size,
        ask_price=ask,
        ask_size=ask_size,
        timestamp=book.timestamp,
        received_at=book.received_at,
    )


def trade_of(
    venue: str, trade: Mapping[str, Any], received_us: int, trade_id: str | None = None
) -> Trade:
    """A ccxt trade as a print; ccxt's `side` is the taker's, the aggressor. `trade_id`
    stands in for a venue that numbers no prints."""
    side = trade.get("side")
    return Trade(
        symbol=trade["symbol"],
        venue=venue,
        trade_id=str(trade["id"]) if trade.get("id") is not None else str(trade_id),
        price=exact(trade["price"]),
        quantity=exact(trade["amount"]),
        aggressor_side=Side(side) if side in ("buy", "sell") else None,
        timestamp=_time_us(trade.get("timestamp"), received_us),
        received_at=received_us,
    )


def trades_of(venue: str, trades: Sequence[Mapping[str, Any]], received_us: int) -> list[Trade]:
    """A venue's list of prints as trades. A venue without trade ids (Nobitex's public
    trades) gets ids from what a print is: its time, price, size and side, and the number
    of equal prints before it in the list, so that the same print polled again has the same
    id and the tape publishes it once. (Two equal prints of one millisecond, the older of
    which has left the venue's window by the next poll, are then taken for one.)"""
    seen: dict[str, int] = {}
    records = []
    for trade in trades:
        what = f"{trade.get('timestamp')}:{trade['price']}:{trade['amount']}:{trade.get('side')}"
        count = seen[what] = seen.get(what, -1) + 1
        records.append(trade_of(venue, trade, received_us, f"{what}#{count}"))
    return records


@dataclass(frozen=True)
class BookState:
    """A venue's book as received: each side's best `depth` levels, best first."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int | None  # the venue's sequence number (Binance's lastUpdateId / u)
    timestamp: int
    received_at: int


def book_state(book: Mapping[str, Any], depth: int, received_us: int) -> BookState:
    """A ccxt order book (`bids`, `asks`, `nonce`, `timestamp`) as a `BookState`."""

    def side(levels: Sequence[Sequence[Any]]) -> tuple[Level, ...]:
        return tuple((exact(level[0]), exact(level[1])) for level in levels[:depth])

    return BookState(
        symbol=book["symbol"],
        bids=side(book["bids"]),
        asks=side(book["asks"]),
        update_id=book.get("nonce"),
        timestamp=_time_us(book.get("timestamp"), received_us),
        received_at=received_us,
    )


def _changes(before: tuple[Level, ...], after: tuple[Level, ...], *, bids: bool) -> list[Level]:
    """The levels whose size differs between two views of a side, best first; 0: gone."""
    old, new = dict(before), dict(after)
    changed = {price: size for price, size in new.items() if old.get(price) != size}
    changed |= {price: Decimal(0) for price in old if price not in new}
    return sorted(changed.items(), key=lambda level: level[0], reverse=bids)


def _levels(levels: Iterable[Level]) -> list[PriceLevel]:
    return [PriceLevel(price=price, quantity=size) for price, size in levels]


@dataclass
class BookKeeper:
    """One venue symbol's book as published on `market.book` (see the module docstring)."""

    venue: str
    published: BookState | None = None  # None: the next state is published as a snapshot
    stale: int = 0  # states dropped as no newer than the published one

    def resync(self) -> None:
        """The venue's sequence broke (a gap, a lost connection): the book is published
        again from the next state, as a snapshot."""
        self.published = None

    def on_book(self, state: BookState) -> BookUpdate | None:
        """What to publish for a received state: a snapshot after a resync, else the diff
        from the last published state; None for a stale state or one that changes nothing."""
        last = self.published
        if last is None:
            self.published = state
            return BookUpdate(
                symbol=state.symbol,
                venue=self.venue,
                kind=BookUpdateKind.SNAPSHOT,
                bids=_levels(state.bids),
                asks=_levels(state.asks),
                last_update_id=state.update_id,
                timestamp=state.timestamp,
                received_at=state.received_at,
            )
        if (
            state.update_id is not None
            and last.update_id is not None
            and state.update_id <= last.update_id
        ):
            self.stale += 1
            return None
        bids = _changes(last.bids, state.bids, bids=True)
        asks = _changes(last.asks, state.asks, bids=False)
        if not bids and not asks:
            return None
        self.published = state
        return BookUpdate(
            symbol=state.symbol,
            venue=self.venue,
            kind=BookUpdateKind.DIFF,
            bids=_levels(bids),
            asks=_levels(asks),
            first_update_id=None if last.update_id is None else last.update_id + 1,
            last_update_id=state.update_id,
            timestamp=state.timestamp,
            received_at=state.received_at,
        )


@dataclass
class TradeTape:
    """The trade ids published for one venue symbol (the latest `TRADE_MEMORY` of them), and
    the time of the latest print: where a venue's recent trades are to be asked from."""

    seen: RecentIds = field(default_factory=lambda: RecentIds(TRADE_MEMORY))
    repeated: int = 0
    latest_us: int | None = None

    def fresh(self, trades: Iterable[Trade]) -> list[Trade]:
        """The trades not published yet, in the order given; remembers them as published."""
        new = []
        for trade in trades:
            if trade.trade_id in self.seen:
                self.repeated += 1
                continue
            self.seen.remember(trade.trade_id)
            self.latest_us = max(self.latest_us or trade.timestamp, trade.timestamp)
            new.append(trade)
        return new

    @property
    def since_ms(self) -> int | None:
        """ccxt's `since` for the prints from the latest on (it comes again, and is dropped):
        after a lost connection, only what may have been missed, not the venue's history."""
        return None if self.latest_us is None else self.latest_us // MS_US


@dataclass
class Freshness:
    """When each venue symbol was last heard from (µs), to say how stale its data is."""

    started_us: int
    heard: dict[tuple[str, str], int] = field(default_factory=dict)

    def hear(self, venue: str, symbol: str, at_us: int) -> None:
        self.heard[venue, symbol] = max(self.heard.get((venue, symbol), at_us), at_us)

    def staleness(
        self, processor: str, worker: str, symbols: Iterable[tuple[str, str]], now_us: int
    ) -> list[Metric]:
        """`feed_staleness_seconds` per venue symbol: since it was last heard from, or since
        the feed started for one never heard from."""
        heard = dict(self.heard)  # the feed's thread writes while the publisher reads
        return [
            Metric(
                processor=processor,
                name="feed_staleness_seconds",
                kind=MetricKind.GAUGE,
                value=max(now_us - heard.get((venue, symbol), self.started_us), 0) / SECOND_US,
                labels={"venue": venue, "symbol": symbol, "worker": worker},
                timestamp=now_us,
            )
            for venue, symbol in symbols
        ]
