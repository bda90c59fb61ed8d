"""Lean US-equity tick feed: hand-made files worked out by hand, and the real IBM day."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fillstream.connectors.feeds import FeedReport, load
from fillstream.connectors.feeds.ibm import nbbo, read_quotes, read_trades
from fillstream.connectors.feeds.samples import sample_dir, sample_file
from fillstream.schemas.models import Quote, Trade

HERE = Path(__file__).parent / "feeds_data"
QUOTES = HERE / "20131007_tst_Quote_Tick.csv"
TRADES = HERE / "20131007_tst_Trade_Tick.csv"


def utc_us(*moment: int) -> int:
    """A UTC wall time as µs since the epoch (the test's own conversion)."""
    return int(datetime(*moment, tzinfo=UTC).timestamp()) * 1_000_000


# 2013-10-07 is daylight time in New York (UTC-4): 09:30:00.000 local is 13:30:00 UTC.
OPEN = utc_us(2013, 10, 7, 13, 30)


def summary(quote: Quote) -> tuple:
    return (
        quote.venue,
        quote.timestamp - OPEN,
        quote.bid_price,
        quote.bid_size,
        quote.ask_price,
        quote.ask_size,
    )


D = Decimal


def test_venue_layout_keeps_each_venue_book_and_the_nbbo():
    report = FeedReport()
    quotes = [e.record for e in read_quotes(QUOTES, layout="venue", with_nbbo=True, report=report)]
    assert [summary(q) for q in quotes] == [
        ("nyse", 0, D("181.50"), D(300), None, None),
        ("nbbo", 0, D("181.50"), D(300), None, None),
        ("nyse", 0, D("181.50"), D(300), D("181.60"), D(200)),
        ("nbbo", 0, D("181.50"), D(300), D("181.60"), D(200)),
        ("arca", 500_000, D("181.50"), D(100), None, None),
        # two venues bid 181.50: the NBBO shows both sizes
        ("nbbo", 500_000, D("181.50"), D(400), D("181.60"), D(200)),
        ("arca", 1_000_000, D("181.50"), D(100), D("181.55"), D(500)),
        ("nbbo", 1_000_000, D("181.50"), D(400), D("181.55"), D(500)),
    ]
    assert {q.symbol for q in quotes} == {"TST"}  # from the file name
    assert report.counts["suspicious_rows"] == 1  # the 190.00 nasdaq bid is not there


def test_nbbo_layout_emits_one_quote_per_millisecond_that_changed():
    quotes = [e.record for e in read_quotes(QUOTES)]
    assert [summary(q) for q in quotes] == [
        ("nbbo", 0, D("181.50"), D(300), D("181.60"), D(200)),  # both rows of 09:30:00.000
        ("nbbo", 500_000, D("181.50"), D(100), D("181.60"), D(200)),  # arca's bid is best now
        ("nbbo", 1_000_000, D("181.50"), D(100), D("181.55"), D(500)),
    ]


def test_nbbo_layout_skips_an_unchanged_instant(tmp_path):
    path = tmp_path / "20131007_tst_Quote_Tick.csv"
    path.write_text(
        "34200000,1815000,300,0,0,N,1,0\n34200000,0,0,1816000,200,N,1,0\n"
        "34200001,1815000,300,0,0,Z,1,0\n34200001,0,0,1816000,200,K,1,0\n"
    )
    assert len(list(read_quotes(path))) == 1


def test_nbbo_of_venue_quotes():
    def quote(venue: str, bid: str | None, ask: str | None, at: int) -> Quote:
        return Quote(
            symbol="IBM",
            venue=venue,
            bid_price=bid and D(bid),
            bid_size=bid and D(100),
            ask_price=ask and D(ask),
            ask_size=ask and D(100),
            timestamp=OPEN + at,
        )

    best = nbbo(
        {
            "nyse": quote("nyse", "10.01", "10.05", 3),
            "arca": quote("arca", "10.02", "10.04", 1),
            "bats": quote("bats", "10.02", None, 7),
            "edgx": quote("edgx", None, "10.04", 2),
        }
    )
    assert (best.venue, best.bid_price, best.bid_size) == ("nbbo", D("10.02"), D(200))
    assert (best.ask_price, best.ask_size, best.timestamp) == (D("10.04"), D(200), OPEN + 7)
    one_sided = nbbo({"nyse": quote("nyse", "10.01", None, 0)})
    assert (one_sided.ask_price, one_sided.ask_size) == (None, None)
    with pytest.raises(ValueError, match="no quotes"):
        nbbo({})


def test_trades_are_per_venue_with_row_ids():
    report = FeedReport()
    trades = [e.record for e in read_trades(TRADES, report=report)]
    assert [(t.trade_id, t.venue, t.price, t.quantity, t.timestamp - OPEN) for t in trades] == [
        ("nyse-1", "nyse", D("181.55"), D(100), 100_000),
        ("finra-2", "finra", D("181.56"), D(50), 200_000),
    ]
    assert all(t.aggressor_side is None for t in trades)
    assert report.counts["suspicious_rows"] == 1


def test_load_merges_the_days_trade_file_in_time_order():
    # Per-venue books and their NBBO: nyse quotes both sides at 0 ms; arca's bid joins nyse's
    # at 181.50 (NBBO size 300 + 100) at 500 ms; arca's ask 181.55 betters nyse's at 1000 ms.
    events = list(load(QUOTES))
    assert [(e.topic, e.record.venue, e.timestamp - OPEN) for e in events] == [
        ("market.quotes", "nyse", 0),
        ("market.quotes", "nbbo", 0),
        ("market.trades", "nyse", 100_000),
        ("market.trades", "finra", 200_000),
        ("market.quotes", "arca", 500_000),
        ("market.quotes", "nbbo", 500_000),
        ("market.quotes", "arca", 1_000_000),
        ("market.quotes", "nbbo", 1_000_000),
    ]
    nbbo_at_500 = events[5].record
    assert (nbbo_at_500.bid_price, nbbo_at_500.bid_size) == (D("181.5"), D("400"))


def test_invalid_rows_are_reported_and_skipped(tmp_path):
    path = tmp_path / "20131007_tst_Trade_Tick.csv"
    path.write_text("34200100,1815500,100,N,0,0\n34200200,abc,50,N,0,0\n34200300,1815700\n")
    report = FeedReport()
    assert len(list(read_trades(path, report=report))) == 1
    assert report.counts["invalid_rows"] == 2
    assert "line 2" in report.warnings[0]


def test_with_nbbo_needs_venue_books():
    with pytest.raises(ValueError, match="an nbbo layout has it"):
        read_quotes(QUOTES, with_nbbo=True)


def test_holders_layout_prunes_venues_the_nbbo_shows_have_left(tmp_path):
    # Each row is the NBBO side, naming its holder (09:30:00 local = OPEN):
    #   +0 ms  bid arca 100.00 x100, ask nasdaq 100.05 x200
    #   +1 ms  bid nyse 100.01 x300                 → arca's 100.00 is worse: it stays
    #   +2 ms  bid bats  99.99 x100, ask arca 100.04 x50
    #          → nyse 100.01 and arca 100.00 are better than the new best bid: both left;
    #            nasdaq's ask 100.05 is worse than the new best ask: it stays.
    source = tmp_path / "20131007_tst_Quote_Tick.csv"
    source.write_text(
        "34200000,1000000,100,0,0,P,1,0\n"
        "34200000,0,0,1000500,200,Q,1,0\n"
        "34200001,1000100,300,0,0,N,1,0\n"
        "34200002,999900,100,0,0,Z,1,0\n"
        "34200002,0,0,1000400,50,P,1,0\n"
    )
    quotes = [e.record for e in read_quotes(source, layout="holders", with_nbbo=True)]
    assert [summary(q) for q in quotes] == [
        ("arca", 0, D("100"), D("100"), None, None),
        ("nasdaq", 0, None, None, D("100.05"), D("200")),
        ("nbbo", 0, D("100"), D("100"), D("100.05"), D("200")),
        ("nyse", 1000, D("100.01"), D("300"), None, None),
        ("nbbo", 1000, D("100.01"), D("300"), D("100.05"), D("200")),
        ("arca", 2000, None, None, D("100.04"), D("50")),
        ("bats", 2000, D("99.99"), D("100"), None, None),
        ("nyse", 2000, None, None, None, None),
        ("nbbo", 2000, D("99.99"), D("100"), D("100.04"), D("50")),
    ]


# ---- the real IBM day ---------------------------------------------------------------------

QUOTE_FILE = "20131007_ibm_Quote_Tick.csv"
TRADE_FILE = "20131007_ibm_Trade_Tick.csv"


def real(name: str) -> Path:
    path = sample_file(name)
    if path is None:
        pytest.skip(f"{name} is not in {sample_dir()} (set FILLSTREAM_SAMPLE_DATA)")
    return path


@pytest.fixture(scope="module")
def real_quotes() -> tuple[list[Quote], FeedReport]:
    report = FeedReport()
    return [e.record for e in read_quotes(real(QUOTE_FILE), report=report)], report


@pytest.fixture(scope="module")
def real_trades() -> list[Trade]:
    return [e.record for e in read_trades(real(TRADE_FILE))]


def test_real_quote_file_is_consolidated_best_bid_and_offer_pairs():
    """Why `nbbo` is the default layout: the data itself, read without the feed."""
    with real(QUOTE_FILE).open() as text:
        rows = list(csv.reader(text))
    pairs = list(zip(rows[1::2], rows[2::2], strict=False))
    assert all(bid[0] == ask[0] and int(bid[1]) and int(ask[3]) for bid, ask in pairs)
    different_exchanges = sum(bid[5] != ask[5] for bid, ask in pairs)
    assert different_exchanges > len(pairs) / 2
    crossed = sum(int(bid[1]) > int(ask[3]) for bid, ask in pairs)
    assert crossed < len(pairs) / 1000


def test_real_quotes_first_and_last_read_by_hand(real_quotes):
    quotes, report = real_quotes
    assert {(q.symbol, q.venue) for q in quotes} == {("IBM", "nbbo")}
    # line 1: 04:00:00.054 New York, ask 183.63 x 100 only
    first = quotes[0]
    assert first.timestamp == utc_us(2013, 10, 7, 8) + 54_000
    assert (first.bid_price, first.ask_price, first.ask_size) == (None, D("183.63"), D(100))
    # the last millisecond, 20:00:00.122: bid 181.98 (P), ask 182.62 (Q); the 186.00 ask
    # after them is flagged suspicious
    last = quotes[-1]
    assert last.timestamp == utc_us(2013, 10, 8, 0) + 122_000
    assert (last.bid_price, last.bid_size) == (D("181.98"), D(100))
    assert (last.ask_price, last.ask_size) == (D("182.62"), D(100))
    assert report.counts["suspicious_rows"] == 1
    stamps = [q.timestamp for q in quotes]
    assert stamps == sorted(stamps)
    crossed = sum(q.bid_price > q.ask_price for q in quotes if q.bid_price and q.ask_price)
    assert crossed < len(quotes) / 1000


def test_real_quotes_read_per_venue_name_many_venues_but_make_a_crossed_nbbo(tmp_path):
    """The venue layout on the real file's first 10,000 rows (enough, and fast)."""
    with real(QUOTE_FILE).open() as text:
        head = [next(text) for _ in range(10_000)]
    path = tmp_path / QUOTE_FILE
    path.write_text("".join(head))
    events = list(read_quotes(path, layout="venue", with_nbbo=True))
    venues = {e.record.venue for e in events} - {"nbbo"}
    assert len(venues) >= 5
    rebuilt = [e.record for e in events if e.record.venue == "nbbo"]
    locked_or_crossed = sum(
        q.bid_price >= q.ask_price for q in rebuilt if q.bid_price and q.ask_price
    )
    assert locked_or_crossed > len(rebuilt) / 2  # stale venue books: not a usable NBBO


def test_real_trades(real_trades):
    with real(TRADE_FILE).open() as text:
        rows = list(csv.reader(text))
    assert len(real_trades) == len(rows) == 24_293  # no trade is flagged suspicious
    # line 1: 04:00:30.270 New York, 283 shares at 181.52 on Arca
    first = real_trades[0]
    assert (first.trade_id, first.price, first.quantity) == ("arca-1", D("181.52"), D(283))
    assert first.timestamp == utc_us(2013, 10, 7, 8, 0, 30) + 270_000
    finra = [t for t in real_trades if t.venue == "finra"]
    assert len(finra) == sum(row[3] == "D" for row in rows)
    assert len({t.venue for t in real_trades}) >= 5
    assert len({t.trade_id for t in real_trades}) == len(real_trades)
