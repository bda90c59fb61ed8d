"""Minute bars (Bybit in Lean's crypto format, FTX candles) and a feed that replays them.

Bars are what is left of many markets' history, so a replay from bars lets algorithms and TCA
run where no ticks were kept. The replay is coarse by construction, and says so:

- a quote bar becomes one Quote at the bar's end: bid and ask close with the last sizes;
- a trade bar becomes one Trade of the bar's whole volume at its close price, at the bar's end
  (no aggressor side; id `bar-<start µs>`). Volume is really spread over the minute and over
  prices from low to high, so participation and VWAP are right per bar, but an order never
  sees intra-minute prices. Bars without volume yield no Trade.

On equal end times a bar's Trade comes before its Quote: the trading happened within the
minute, the closing quote is the state after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from fillstream.connectors.feeds import lean
from fillstream.connectors.feeds.events import (
    MINUTE_US,
    MarketEvent,
    in_time_order,
    merge_in_time,
    microseconds_since_epoch,
)
from fillstream.connectors.feeds.files import first_line
from fillstream.connectors.feeds.report import FeedReport
from fillstream.schemas.decimals import parse_decimal
from fillstream.schemas.models import Quote, Trade

__all__ = [
    "FTX_HEADER",
    "Bar",
    "QuoteBar",
    "bar_events",
    "read_ftx_bars",
    "read_lean_quote_bars",
    "read_lean_trade_bars",
]

FTX_HEADER = ["timestamp", "open", "high", "low", "close", "volume"]
# FTX reports volume in USD; base quantities keep a satoshi's precision.
_BASE_QUANTUM = Decimal("1e-8")
# Bar files are in time order; the horizon only absorbs a hand-edited row or two.
_HORIZON_US = MINUTE_US


@dataclass(frozen=True)
class Bar:
    """OHLCV of one period starting at `start` (µs UTC); volume in the base asset."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class QuoteBar:
    """Bid and ask OHLC of one period, with the sizes last shown at its end."""

    start: int
    bid_open: Decimal
    bid_high: Decimal
    bid_low: Decimal
    bid_close: Decimal
    bid_size: Decimal
    ask_open: Decimal
    ask_high: Decimal
    ask_low: Decimal
    ask_close: Decimal
    ask_size: Decimal


def read_lean_trade_bars(
    path: Path, *, day: date | None = None, report: FeedReport | None = None
) -> Iterator[Bar]:
    """`time_ms, open, high, low, close, volume` rows; time in ms since midnight UTC of `day`
    (by default the day in the file name, `20221213_btcusdt_minute_trade.csv`)."""
    to_utc = lean.clock(day or lean.parse_name(path).day, UTC)

    def parse(number: int, row: list[str]) -> list[Bar]:
        time_ms, *prices = row
        return [Bar(to_utc(int(time_ms)), *_decimals(prices, 5))]

    return lean.parse_rows(path, parse, FeedReport() if report is None else report)


def read_lean_quote_bars(
    path: Path, *, day: date | None = None, report: FeedReport | None = None
) -> Iterator[QuoteBar]:
    """`time_ms, bid OHLC, last bid size, ask OHLC, last ask size` rows (Lean crypto minute)."""
    to_utc = lean.clock(day or lean.parse_name(path).day, UTC)

    def parse(number: int, row: list[str]) -> list[QuoteBar]:
        time_ms, *values = row
        return [QuoteBar(to_utc(int(time_ms)), *_decimals(values, 10))]

    return lean.parse_rows(path, parse, FeedReport() if report is None else report)


def read_ftx_bars(path: Path, *, report: FeedReport | None = None) -> Iterator[Bar]:
    """FTX candles: header `timestamp,open,high,low,close,volume`, zone-less UTC bar starts.

    FTX's `volume` is in USD (a BTC-PERP minute shows millions); it becomes base units as
    `volume / close` to 1e-8, which keeps the replayed Trade's notional equal to the reported
    USD volume (the true divisor, the bar's VWAP, is unknown).
    """

    if [field.strip().lower() for field in first_line(path).split(",")] != FTX_HEADER:
        raise ValueError(f"{path.name}: FTX candles start with the header {','.join(FTX_HEADER)}")

    def parse(number: int, row: list[str]) -> list[Bar]:
        if number == 1:
            return []
        stamp, *values = row
        start = microseconds_since_epoch(datetime.fromisoformat(stamp).replace(tzinfo=UTC))
        open_, high, low, close, usd = _decimals(values, 5)
        volume = (usd / close).quantize(_BASE_QUANTUM, rounding=ROUND_HALF_EVEN)
        return [Bar(start, open_, high, low, close, volume)]

    return lean.parse_rows(path, parse, FeedReport() if report is None else report)


def bar_events(
    *,
    symbol: str,
    venue: str,
    trade_bars: Iterable[Bar] = (),
    quote_bars: Iterable[QuoteBar] = (),
    period_us: int = MINUTE_US,
) -> Iterator[MarketEvent]:
    """Trades and quotes at each bar's end (`start + period_us`), in time order."""

    def trades() -> Iterator[MarketEvent]:
        for bar in trade_bars:
            if bar.volume > 0:
                trade = Trade(
                    symbol=symbol,
                    venue=venue,
                    trade_id=f"bar-{bar.start}",
                    price=bar.close,
                    quantity=bar.volume,
                    timestamp=bar.start + period_us,
                )
                yield MarketEvent.of(trade)

    def quotes() -> Iterator[MarketEvent]:
        for bar in quote_bars:
            quote = Quote(
                symbol=symbol,
                venue=venue,
                bid_price=bar.bid_close,
                bid_size=bar.bid_size,
                ask_price=bar.ask_close,
                ask_size=bar.ask_size,
                timestamp=bar.start + period_us,
            )
            yield MarketEvent.of(quote)

    in_order = (in_time_order(stream, horizon_us=_HORIZON_US) for stream in (trades(), quotes()))
    return merge_in_time(*in_order)


def _decimals(fields: list[str], count: int) -> list[Decimal]:
    """Exactly `count` prices or sizes: finite, not negative (a contract model would refuse)."""
    if len(fields) != count:
        raise ValueError(f"expected {count + 1} fields, got {len(fields) + 1}")
    values = [parse_decimal(field) for field in fields]
    if any(value < 0 for value in values):
        raise ValueError("negative price or volume")
    return values
