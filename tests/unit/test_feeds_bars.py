"""Bar feeds: Lean crypto minute bars (Bybit) and FTX candles, converted by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fillstream.connectors.feeds import FeedReport, load
from fillstream.connectors.feeds.bars import (
    Bar,
    QuoteBar,
    bar_events,
    read_ftx_bars,
    read_lean_quote_bars,
    read_lean_trade_bars,
)
from fillstream.connectors.feeds.samples import sample_dir, sample_file
from fillstream.schemas.models import Quote, Trade

D = Decimal
MINUTE = 60_000_000


def utc_us(*moment: int) -> int:
    return int(datetime(*moment, tzinfo=UTC).timestamp()) * 1_000_000


DAY = utc_us(2022, 12, 13)


def real(name: str) -> Path:
    path = sample_file(name)
    if path is None:
        pytest.skip(f"{name} is not in {sample_dir()} (set FILLSTREAM_SAMPLE_DATA)")
    return path


def test_lean_trade_bar_rows(tmp_path):
    path = tmp_path / "20221213_btcusdt_minute_trade.csv"
    path.write_text("0,17208.86,17212.99,17205,17205,1.549151\n60000,1,2,0.5,1.5,0\n")
    assert list(read_lean_trade_bars(path)) == [
        Bar(DAY, D("17208.86"), D("17212.99"), D("17205"), D("17205"), D("1.549151")),
        Bar(DAY + MINUTE, D(1), D(2), D("0.5"), D("1.5"), D(0)),
    ]


def test_bars_become_a_trade_and_a_quote_at_the_bar_end():
    trade_bars = [
        Bar(DAY, D(10), D(12), D(9), D(11), D("2.5")),
        Bar(DAY + MINUTE, D(11), D(11), D(11), D(11), D(0)),  # no volume: no trade
    ]
    quote_bars = [
        QuoteBar(DAY, *map(D, ("9", "10", "8", "10.5", "3", "11", "12", "10", "11.5", "4")))
    ]
    events = list(
        bar_events(symbol="BTC/USDT", venue="bybit", trade_bars=trade_bars, quote_bars=quote_bars)
    )
    assert [e.topic for e in events] == ["market.trades", "market.quotes"]  # trade first
    trade, quote = (e.record for e in events)
    assert trade == Trade(
        symbol="BTC/USDT",
        venue="bybit",
        trade_id=f"bar-{DAY}",
        price=D(11),
        quantity=D("2.5"),
        timestamp=DAY + MINUTE,
    )
    assert quote == Quote(
        symbol="BTC/USDT",
        venue="bybit",
        bid_price=D("10.5"),
        bid_size=D(3),
        ask_price=D("11.5"),
        ask_size=D(4),
        timestamp=DAY + MINUTE,
    )


def test_ftx_candles(tmp_path):
    path = tmp_path / "eth-perp-20220101-20220101_1m.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2022-01-01 00:00:00.000000,3700.0,3710.0,3690.0,3705.0,7410.0\n"
    )
    (bar,) = read_ftx_bars(path)
    # 7,410 USD at 3,705 USD per ETH: 2 ETH
    assert bar == Bar(utc_us(2022, 1, 1), D("3700.0"), D("3710.0"), D("3690.0"), D("3705.0"), D(2))
    (event,) = load(path)
    assert (event.record.symbol, event.record.venue) == ("ETH/USD:USD", "ftx")
    assert event.timestamp == utc_us(2022, 1, 1, 0, 1)


def test_bad_rows_are_reported_not_fatal(tmp_path):
    path = tmp_path / "20221213_btcusdt_minute_trade.csv"
    path.write_text(
        "0,1,1,1,1,1\n60000,1,1,1,NaN,1\n120000,1,1\n180000,1,1,1,-1,1\n240000,1,1,1,1,1\n"
    )
    report = FeedReport()
    assert [bar.start - DAY for bar in read_lean_trade_bars(path, report=report)] == [0, 4 * MINUTE]
    assert report.counts["invalid_rows"] == 3


def test_ftx_file_needs_its_header(tmp_path):
    path = tmp_path / "btc-perp-x_1m.csv"
    path.write_text("time,o,h,l,c,v\n2022-01-01 00:00:00,1,1,1,1,1\n")
    with pytest.raises(ValueError, match="header"):
        read_ftx_bars(path)


def test_real_bybit_bars():
    trades = list(read_lean_trade_bars(real("20221213_btcusdt_minute_trade.csv")))
    quotes = list(read_lean_quote_bars(real("20221213_btcusdt_minute_quote.csv")))
    assert (len(trades), len(quotes)) == (1440, 721)
    assert trades[-1].start == utc_us(2022, 12, 13, 23, 59)
    assert quotes[-1].start == utc_us(2022, 12, 13, 12)
    # first quote row, by hand: bid close 17205.01 (last size 0.00531), ask close 17206.77
    assert (quotes[0].bid_close, quotes[0].bid_size) == (D("17205.01"), D("0.00531"))
    assert (quotes[0].ask_close, quotes[0].ask_size) == (D("17206.77"), D("0.00416"))
    events = list(load(real("20221213_btcusdt_minute_quote.csv")))  # brings the trade bars
    assert len(events) == 1440 + 721
    assert {(e.record.symbol, e.record.venue) for e in events} == {("BTC/USDT", "bybit")}
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert events[0].timestamp == DAY + MINUTE
    assert sum(e.record.quantity for e in events if e.topic == "market.trades") == sum(
        bar.volume for bar in trades
    )


def test_real_ftx_bars():
    path = real("btc-perp-20211231-20220201_1m.csv")
    bars = list(read_ftx_bars(path))
    assert len(bars) == 45_031
    first = bars[0]
    # 2021-12-31 23:01:00,46319.0,46385.0,46319.0,46377.0,2300413.7295
    assert first.start == utc_us(2021, 12, 31, 23, 1)
    assert first.close == D("46377.0")
    assert first.volume == D("49.60246953")  # 2300413.7295 / 46377 = 49.602469532..., by bc
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    starts = [b.start for b in bars]
    assert all(later - earlier == MINUTE for earlier, later in itertools.pairwise(starts))
