"""The shared parts of the feeds: format detection, ordering, symbols, Lean time, reports."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fillstream.connectors.feeds import FORMATS, FeedReport, MarketEvent, detect_format, load
from fillstream.connectors.feeds.events import in_time_order, merge_in_time
from fillstream.connectors.feeds.files import open_text
from fillstream.connectors.feeds.lean import clock, parse_name, sibling_trades
from fillstream.connectors.feeds.samples import sample_dir, sample_file
from fillstream.connectors.feeds.symbols import unify_symbol
from fillstream.schemas.models import BookUpdate, Quote, Trade
from fillstream.schemas.topics import find

HERE = Path(__file__).parent / "feeds_data"
T0 = 1_723_161_300_000_000


def trade(at: int, name: str = "") -> MarketEvent:
    record = Trade(
        symbol="BTC/USDT",
        venue="binance",
        trade_id=name or str(at),
        price=Decimal(1),
        quantity=Decimal(1),
        timestamp=T0 + at,
    )
    return MarketEvent.of(record)


def test_each_record_type_goes_to_its_catalog_topic():
    quote = Quote(symbol="X", venue="v", timestamp=T0)
    book = BookUpdate(symbol="X", venue="v", kind="snapshot", bids=[], asks=[], timestamp=T0)
    topics = [MarketEvent.of(r).topic for r in (quote, trade(0).record, book)]
    assert topics == ["market.quotes", "market.trades", "market.book"]
    assert [find(topic).record for topic in topics] == ["Quote", "Trade", "BookUpdate"]


def test_in_time_order_sorts_within_the_horizon_and_keeps_ties_in_order():
    events = [trade(5, "a"), trade(3, "b"), trade(5, "c"), trade(4, "d"), trade(100, "e")]
    report = FeedReport()
    ordered = list(in_time_order(events, horizon_us=10, report=report))
    assert [e.record.trade_id for e in ordered] == ["b", "d", "a", "c", "e"]
    assert report.counts == {}


def test_in_time_order_reports_what_comes_later_than_the_horizon():
    events = [trade(0, "a"), trade(50, "b"), trade(100, "c"), trade(10, "late")]
    report = FeedReport()
    ordered = [e.record.trade_id for e in in_time_order(events, horizon_us=20, report=report)]
    assert sorted(ordered) == ["a", "b", "c", "late"]  # nothing is lost
    assert report.counts["late_events"] == 1


def test_merge_in_time_puts_earlier_streams_first_on_ties():
    merged = merge_in_time([trade(1, "x1"), trade(2, "x2")], [trade(1, "y1"), trade(3, "y3")])
    assert [e.record.trade_id for e in merged] == ["x1", "y1", "x2", "y3"]


@pytest.mark.parametrize(
    ("venue_symbol", "settle", "unified"),
    [
        ("BTCUSDT", None, "BTC/USDT"),
        ("btcusdt", None, "BTC/USDT"),
        ("ETHBTC", None, "ETH/BTC"),
        ("BTCFDUSD", None, "BTC/FDUSD"),  # not BTCFD/USD
        ("BNBTRY", None, "BNB/TRY"),
        ("1000PEPEUSDT", "USDT", "1000PEPE/USDT:USDT"),
        ("BTCUSDT_240927", "USDT", "BTC/USDT:USDT-240927"),
    ],
)
def test_unify_symbol(venue_symbol, settle, unified):
    assert unify_symbol(venue_symbol, settle) == unified


def test_unify_symbol_refuses_an_unknown_quote_asset():
    with pytest.raises(ValueError, match="XYZABC"):
        unify_symbol("XYZABC")


def test_lean_clock_is_new_york_wall_time_even_on_daylight_saving_days():
    new_york = ZoneInfo("America/New_York")
    to_utc = clock(date(2013, 10, 7), new_york)
    assert to_utc(34_200_000) == datetime(2013, 10, 7, 13, 30, tzinfo=UTC).timestamp() * 1e6
    # 2013-11-03: clocks go back at 02:00 EDT; 03:00 on the wall is EST (UTC-5)
    fall_back = clock(date(2013, 11, 3), new_york)
    assert fall_back(0) == datetime(2013, 11, 3, 4, tzinfo=UTC).timestamp() * 1e6
    assert fall_back(3 * 3_600_000) == datetime(2013, 11, 3, 8, tzinfo=UTC).timestamp() * 1e6
    assert clock(date(2022, 12, 13), UTC)(60_000) == 1_670_889_660_000_000


def test_lean_names_and_siblings(tmp_path):
    name = parse_name(HERE / "20131007_tst_Quote_Tick.csv")
    assert (name.day, name.symbol, name.kind) == (date(2013, 10, 7), "tst", "Quote_Tick")
    assert (
        sibling_trades(HERE / "20131007_tst_Quote_Tick.csv") == HERE / "20131007_tst_Trade_Tick.csv"
    )
    (tmp_path / "20221213_btcusdt_minute_quote.csv").touch()
    assert sibling_trades(tmp_path / "20221213_btcusdt_minute_quote.csv") is None  # not there
    with pytest.raises(ValueError, match="Lean file name"):
        parse_name(tmp_path / "quotes.csv")


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    packed = tmp_path / "capture.txt"
    with gzip.open(packed, "wt") as out:
        out.write("hello\n")
    with open_text(packed) as text:
        assert text.read() == "hello\n"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("20131007_tst_Quote_Tick.csv", "lean-equity-quotes"),
        ("20131007_tst_Trade_Tick.csv", "lean-equity-trades"),
    ],
)
def test_detect_hand_made_files(name, kind):
    assert detect_format(HERE / name) == kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("btcusdt_20240808.gz", "binance-capture"),
        ("20131007_ibm_Quote_Tick.csv", "lean-equity-quotes"),
        ("20131007_ibm_Trade_Tick.csv", "lean-equity-trades"),
        ("20221213_btcusdt_minute_trade.csv", "lean-crypto-trade-bars"),
        ("20221213_btcusdt_minute_quote.csv", "lean-crypto-quote-bars"),
        ("btc-perp-20211231-20220201_1m.csv", "ftx-bars"),
    ],
)
def test_detect_real_files(name, kind):
    path = sample_file(name)
    if path is None:
        pytest.skip(f"{name} is not in {sample_dir()} (set FILLSTREAM_SAMPLE_DATA)")
    assert detect_format(path) == kind


def test_unsupported_files_are_refused_with_the_list_of_formats(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("symbol,price\nIBM,181.5\n")
    with pytest.raises(ValueError) as refused:
        load(path)
    assert all(kind in str(refused.value) for kind in FORMATS)
    binary = tmp_path / "prices.parquet"
    binary.write_bytes(b"PAR1\xff\xfe\x00")
    with pytest.raises(ValueError, match="not a supported market-data file"):
        load(binary)


def test_the_report_caps_its_messages_but_not_its_counts():
    report = FeedReport(max_warnings=2)
    for number in range(5):
        report.warn("book_gaps", f"gap {number}")
    assert report.counts["book_gaps"] == 5
    assert report.warnings == ["gap 0", "gap 1"]
