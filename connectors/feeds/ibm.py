"""US-equity tick files in Lean's format (AlgoSeek data, e.g. IBM) → quotes and trades.

Quote rows are `time_ms, bid_px, bid_size, ask_px, ask_size, exchange, condition, suspicious`;
each carries ONE side (the other is 0) and names ONE exchange. Trade rows are
`time_ms, price, size, exchange, sale_condition_flags, suspicious`, prints without aggressor.
Times are ms since midnight New York (the day comes from the file name), prices 1/10,000 USD.

Two quote layouts exist, and a row does not say which one it belongs to:

- `nbbo` (the default): each row is the national best bid or offer, naming the exchange that
  sets it. The shipped IBM file is this: its rows come as bid/ask pairs stamped with the same
  millisecond, the two sides name different exchanges in 76% of the pairs, and the pairs are
  crossed 43 times in 54,533. Read as per-exchange updates instead, the venue books go stale
  (a venue's bid is seen only while it is the best) and the NBBO rebuilt from them is crossed
  or locked 96% of the time: phantom liquidity a simulated venue would fill against. So one
  `nbbo` Quote is emitted per millisecond in which the best bid or offer changed (the rows of
  one millisecond are one instant; emitting after each row would publish half-updated,
  sometimes crossed, states). Which exchange sets each side is not kept: Quote has no field.
- `venue`: each row updates one exchange's top of book. Each row yields that venue's Quote
  (both sides as last known), and with `with_nbbo` also the NBBO (`nbbo()`) when it changes.
- `holders`: per-venue books rebuilt from an `nbbo` file, for routing across exchanges. A row
  puts its exchange at the best price on its side; any other venue still showing a better
  price there must have left (or it would be the best), so that side is cleared. Venues at the
  same or worse prices stay: they may still be there, and they are the depth an order larger
  than the best venue's size reaches. The books are therefore never crossed beyond what the
  NBBO itself is. Quotes are published per millisecond for the venues that changed, followed
  (with `with_nbbo`) by their NBBO.

Rows the vendor flagged suspicious are skipped (counted as `suspicious_rows`): a surveillance
filter rejected them, usually for a price far from the market, and one would corrupt the book
until the next update. Condition codes are not interpreted: every other quote and print is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from fillstream.connectors.feeds import lean
from fillstream.connectors.feeds.events import MarketEvent, in_time_order
from fillstream.connectors.feeds.report import FeedReport
from fillstream.schemas.models import Quote, Trade

__all__ = ["EXCHANGES", "NBBO", "QuoteLayout", "nbbo", "read_quotes", "read_trades"]

NEW_YORK = ZoneInfo("America/New_York")
NBBO = "nbbo"
QuoteLayout = Literal["nbbo", "venue", "holders"]
# Lean's exchange codes → venue names (lower-case exchange names).
EXCHANGES: Mapping[str, str] = {
    "N": "nyse",
    "Q": "nasdaq",
    "T": "nasdaq",
    "P": "arca",
    "Z": "bats",
    "Y": "byx",
    "K": "edgx",
    "J": "edga",
    "B": "bx",
    "C": "nsx",
    "X": "psx",
    "A": "amex",
    "M": "chx",
    "W": "cboe",
    "D": "finra",
}
# FINRA's trade reporting facility prints off-exchange trades; it never quotes.
_TRADES_ONLY = {"finra"}
# Files are in time order; a little room absorbs a hand-edited file without holding a day.
_HORIZON_US = 1_000_000


@dataclass(frozen=True)
class _Touch:
    """A best bid and offer with their sizes, None where not known."""

    bid_price: Decimal | None = None
    bid_size: Decimal | None = None
    ask_price: Decimal | None = None
    ask_size: Decimal | None = None

    @classmethod
    def of(cls, quote: Quote) -> _Touch:
        return cls(quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size)

    def updated(self, change: _Touch) -> _Touch:
        """This touch with the sides `change` carries replaced."""
        bid = change if change.bid_price is not None else self
        ask = change if change.ask_price is not None else self
        return _Touch(bid.bid_price, bid.bid_size, ask.ask_price, ask.ask_size)

    def quote(self, symbol: str, venue: str, timestamp: int) -> Quote:
        return Quote(
            symbol=symbol,
            venue=venue,
            bid_price=self.bid_price,
            bid_size=self.bid_size,
            ask_price=self.ask_price,
            ask_size=self.ask_size,
            timestamp=timestamp,
        )


def nbbo(quotes: Mapping[str, Quote]) -> Quote:
    """The national best bid and offer over venue quotes (keyed by venue).

    Best bid = the highest bid price of any venue, its size the sum of the sizes of every
    venue at that price; the same for the lowest ask. A side no venue shows stays empty. The
    time is the newest venue quote's: the moment this NBBO became true.
    """
    if not quotes:
        raise ValueError("the NBBO of no quotes is undefined")
    symbols = {quote.symbol for quote in quotes.values()}
    if len(symbols) != 1:
        raise ValueError(f"an NBBO is for one symbol, got {sorted(symbols)}")
    timestamp = max(quote.timestamp for quote in quotes.values())
    best = _best(_Touch.of(quote) for quote in quotes.values())
    return best.quote(symbols.pop(), NBBO, timestamp)


def _best(touches: Iterable[_Touch]) -> _Touch:
    bids: list[tuple[Decimal, Decimal | None]] = []
    asks: list[tuple[Decimal, Decimal | None]] = []
    for touch in touches:
        if touch.bid_price is not None:
            bids.append((touch.bid_price, touch.bid_size))
        if touch.ask_price is not None:
            asks.append((touch.ask_price, touch.ask_size))
    bid_price = max((price for price, _ in bids), default=None)
    ask_price = min((price for price, _ in asks), default=None)
    return _Touch(bid_price, _size_at(bids, bid_price), ask_price, _size_at(asks, ask_price))


def read_quotes(
    path: Path,
    *,
    layout: QuoteLayout = "nbbo",
    with_nbbo: bool = False,
    symbol: str | None = None,
    day: date | None = None,
    report: FeedReport | None = None,
) -> Iterator[MarketEvent]:
    """The file's quotes read as `layout` (see the module docstring), in time order.

    `with_nbbo` adds the NBBO of the venue quotes (venue layout only: an nbbo file already is
    the NBBO). Symbol and day default to the file name's (`20131007_ibm_Quote_Tick.csv`).
    """
    if with_nbbo and layout == "nbbo":
        raise ValueError("with_nbbo derives the NBBO from venue quotes: an nbbo layout has it")
    report = FeedReport() if report is None else report
    symbol, to_utc = _symbol_and_clock(path, symbol, day)
    books: _VenueBooks | _HolderBooks | _ConsolidatedBook
    if layout == "venue":
        books = _VenueBooks(symbol, with_nbbo)
    elif layout == "holders":
        books = _HolderBooks(symbol, with_nbbo)
    else:
        books = _ConsolidatedBook(symbol)

    def events() -> Iterator[MarketEvent]:
        for row in lean.parse_rows(path, _quote_row_parser(report), report):
            for quote in books.update(row, to_utc(row.time_ms)):
                yield MarketEvent.of(quote)
        for quote in books.flush():
            yield MarketEvent.of(quote)

    return in_time_order(events(), horizon_us=_HORIZON_US)


def read_trades(
    path: Path,
    *,
    symbol: str | None = None,
    day: date | None = None,
    report: FeedReport | None = None,
) -> Iterator[MarketEvent]:
    """Each print as a Trade of its venue; ids are `<venue>-<line number>` (stable on replay)."""
    report = FeedReport() if report is None else report
    symbol, to_utc = _symbol_and_clock(path, symbol, day)

    def parse(number: int, row: list[str]) -> list[MarketEvent]:
        time_ms, price, size, code, _conditions, suspicious = row
        venue = _venue(code, number, report)
        if venue is None or _suspicious(suspicious, report):
            return []
        if (trade_price := _price(price)) is None:
            raise ValueError("a print without a price")
        trade = Trade(
            symbol=symbol,
            venue=venue,
            trade_id=f"{venue}-{number}",
            price=trade_price,
            quantity=_size(size),
            timestamp=to_utc(int(time_ms)),
        )
        return [MarketEvent.of(trade)]

    return in_time_order(lean.parse_rows(path, parse, report), horizon_us=_HORIZON_US)


@dataclass(frozen=True)
class _QuoteRow:
    """One usable quote row: its time, exchange and the one side it carries."""

    time_ms: int
    venue: str
    side: _Touch


def _quote_row_parser(report: FeedReport) -> lean.RowParser[_QuoteRow]:
    """Rows to validated one-sided updates, so that building a Quote from them cannot fail."""

    def parse(number: int, row: list[str]) -> list[_QuoteRow]:
        time_ms, bid_px, bid_size, ask_px, ask_size, code, _condition, suspicious = row
        venue = _venue(code, number, report)
        if venue is None or _suspicious(suspicious, report):
            return []
        if venue in _TRADES_ONLY:
            report.warn("trade_venue_quotes", f"line {number}: {venue} does not quote; skipped")
            return []
        bid, ask = _price(bid_px), _price(ask_px)
        side = _Touch(
            bid,
            _size(bid_size) if bid is not None else None,
            ask,
            _size(ask_size) if ask is not None else None,
        )
        return [_QuoteRow(int(time_ms), venue, side)]

    return parse


class _VenueBooks:
    """Every venue's top of book; a Quote for the updated venue after each row."""

    def __init__(self, symbol: str, with_nbbo: bool) -> None:
        self._symbol = symbol
        self._with_nbbo = with_nbbo
        self._touches: dict[str, _Touch] = {}
        self._nbbo = _Touch()

    def update(self, row: _QuoteRow, timestamp: int) -> list[Quote]:
        touch = self._touches.get(row.venue, _Touch()).updated(row.side)
        quote = touch.quote(self._symbol, row.venue, timestamp)
        self._touches[row.venue] = touch
        if not self._with_nbbo:
            return [quote]
        best = _best(self._touches.values())  # as `nbbo`, without a Quote per venue per row
        if best == self._nbbo:
            return [quote]
        self._nbbo = best
        return [quote, best.quote(self._symbol, NBBO, timestamp)]

    def flush(self) -> list[Quote]:
        return []


class _HolderBooks:
    """Venue tops from NBBO rows naming the exchange at the best price (`holders` layout)."""

    def __init__(self, symbol: str, with_nbbo: bool) -> None:
        self._symbol = symbol
        self._with_nbbo = with_nbbo
        self._touches: dict[str, _Touch] = {}
        self._changed: set[str] = set()
        self._time: int | None = None

    def update(self, row: _QuoteRow, timestamp: int) -> list[Quote]:
        published = self.flush() if timestamp != self._time else []
        self._time = timestamp
        self._touches[row.venue] = self._touches.get(row.venue, _Touch()).updated(row.side)
        self._changed.add(row.venue)
        best_bid, best_ask = row.side.bid_price, row.side.ask_price
        for venue, touch in list(self._touches.items()):
            if venue == row.venue:
                continue
            pruned = touch
            if best_bid is not None and touch.bid_price is not None and touch.bid_price > best_bid:
                pruned = _Touch(None, None, pruned.ask_price, pruned.ask_size)
            if best_ask is not None and touch.ask_price is not None and touch.ask_price < best_ask:
                pruned = _Touch(pruned.bid_price, pruned.bid_size, None, None)
            if pruned != touch:
                self._touches[venue] = pruned
                self._changed.add(venue)
        return published

    def flush(self) -> list[Quote]:
        """The quotes of the venues that changed in the millisecond just ended."""
        if self._time is None or not self._changed:
            return []
        quotes = [
            self._touches[venue].quote(self._symbol, venue, self._time)
            for venue in sorted(self._changed)
        ]
        self._changed.clear()
        if self._with_nbbo:
            quotes.append(_best(self._touches.values()).quote(self._symbol, NBBO, self._time))
        return quotes


class _ConsolidatedBook:
    """The NBBO, one side per row; a Quote per millisecond in which it changed."""

    def __init__(self, symbol: str) -> None:
        self._symbol = symbol
        self._touch = _Touch()
        self._time: int | None = None
        self._published = _Touch()

    def update(self, row: _QuoteRow, timestamp: int) -> list[Quote]:
        published = self.flush() if timestamp != self._time else []
        self._touch = self._touch.updated(row.side)
        self._time = timestamp
        return published

    def flush(self) -> list[Quote]:
        """The NBBO of the millisecond just ended, if it changed."""
        if self._time is None or self._touch == self._published:
            return []
        self._published = self._touch
        return [self._touch.quote(self._symbol, NBBO, self._time)]


def _symbol_and_clock(path: Path, symbol: str | None, day: date | None) -> tuple[str, lean.Clock]:
    if symbol is None or day is None:
        name = lean.parse_name(path)
        symbol = symbol or name.symbol.upper()
        day = day or name.day
    return symbol, lean.clock(day, NEW_YORK)


def _venue(code: str, number: int, report: FeedReport) -> str | None:
    venue = EXCHANGES.get(code.strip().upper())
    if venue is None:
        report.warn("unknown_exchanges", f"line {number}: unknown exchange code {code!r}; skipped")
    return venue


def _suspicious(flag: str, report: FeedReport) -> bool:
    if flag.strip() in {"", "0"}:
        return False
    report.count("suspicious_rows")
    return True


def _price(ten_thousandths: str) -> Decimal | None:
    """1/10,000 USD as an exact price; 0 (the side a row does not carry) as None."""
    value = int(ten_thousandths)
    if value < 0:
        raise ValueError(f"negative price {ten_thousandths!r}")
    return Decimal(value).scaleb(-4) if value else None


def _size(shares: str) -> Decimal:
    value = int(shares)
    if value < 0:
        raise ValueError(f"negative size {shares!r}")
    return Decimal(value)


def _size_at(side: list[tuple[Decimal, Decimal | None]], price: Decimal | None) -> Decimal | None:
    if price is None:
        return None
    return sum((size or Decimal(0) for level, size in side if level == price), Decimal(0))
