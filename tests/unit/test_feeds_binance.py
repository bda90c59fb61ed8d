"""Binance capture feed: the real BTCUSDT capture checked against the raw lines, and tiny
hand-made captures for each sequencing rule (spot and USD-M futures)."""

from __future__ import annotations

import bisect
import gzip
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest

from fillstream.connectors.feeds import FeedReport, MarketEvent
from fillstream.connectors.feeds.binance import ClockOffset, read_capture, scan_capture
from fillstream.connectors.feeds.samples import sample_dir, sample_file
from fillstream.schemas.models import BookUpdate, BookUpdateKind, Quote, Side, Trade

CAPTURE = "btcusdt_20240808.gz"


@pytest.fixture(scope="module")
def capture() -> Path:
    path = sample_file(CAPTURE)
    if path is None:
        pytest.skip(f"{CAPTURE} is not in {sample_dir()} (set FILLSTREAM_SAMPLE_DATA)")
    return path


@pytest.fixture(scope="module")
def parsed(capture: Path) -> tuple[list[MarketEvent], FeedReport]:
    report = FeedReport()
    return list(read_capture(capture, report=report)), report


@pytest.fixture(scope="module")
def raw_lines(capture: Path) -> list[tuple[int, dict]]:
    """The capture read naively, as the test's own reference."""
    with gzip.open(capture, "rt") as text:
        return [
            (int(stamp), json.loads(body)) for stamp, body in (line.split(" ", 1) for line in text)
        ]


def records(events: list[MarketEvent], kind: type) -> list:
    return [event.record for event in events if isinstance(event.record, kind)]


def test_every_trade_line_becomes_one_trade(parsed, raw_lines):
    events, _ = parsed
    trade_lines = [m for _, m in raw_lines if m.get("stream", "").endswith("@trade")]
    trades = records(events, Trade)
    assert len(trades) == len(trade_lines) == 9757  # the data README's count
    ids = sorted(int(trade.trade_id) for trade in trades)
    assert ids == list(range(3735683259, 3735693015 + 1))  # contiguous, as recorded
    assert {(t.symbol, t.venue) for t in trades} == {("BTC/USDT", "binance")}


@pytest.mark.parametrize(
    ("trade_id", "price", "quantity", "side", "trade_ms", "local_ns"),
    [
        # lines 4, 233 and 2933 of the capture, read by hand (m=true: the aggressor sold)
        ("3735683259", "61837.63", "0.02", Side.SELL, 1723161255342, 1723161254087896568),
        ("3735683305", "61828.02", "0.0081", Side.BUY, 1723161255856, 1723161254585058867),
        ("3735683758", "61849.50", "0.0001", Side.BUY, 1723161283397, 1723161282128264809),
    ],
)
def test_trades_read_by_hand(parsed, trade_id, price, quantity, side, trade_ms, local_ns):
    events, _ = parsed
    (trade,) = [t for t in records(events, Trade) if t.trade_id == trade_id]
    assert (trade.price, trade.quantity, trade.aggressor_side) == (
        Decimal(price),
        Decimal(quantity),
        side,
    )
    assert trade.timestamp == trade_ms * 1000  # exchange trade time, µs
    assert trade.received_at == local_ns // 1000  # the recorder's own clock, µs


def test_clock_offset_is_about_1_27_seconds(capture):
    offset = scan_capture(capture).offset
    assert 1_260_000 <= offset.overall <= 1_285_000
    # every minute's estimate is close to the overall one: the drift is small
    assert max(offset.medians) - min(offset.medians) < 10_000


def test_quotes_without_exchange_time_are_put_on_the_exchange_clock(parsed, raw_lines):
    events, _ = parsed
    quotes = records(events, Quote)
    assert len(quotes) == 28040
    first_ticker = next(
        (stamp, m["data"]) for stamp, m in raw_lines if m.get("stream", "").endswith("@bookTicker")
    )
    stamp, data = first_ticker
    first = min(quotes, key=lambda quote: quote.received_at)
    assert first.received_at == stamp // 1000
    assert (first.bid_price, first.bid_size) == (Decimal(data["b"]), Decimal(data["B"]))
    assert (first.ask_price, first.ask_size) == (Decimal(data["a"]), Decimal(data["A"]))
    # local time + ~1.27 s; a 10 ms band covers the per-minute estimate
    assert abs(first.timestamp - (first.received_at + 1_272_000)) < 10_000


def test_events_are_in_timestamp_order_with_topics_matching_records(parsed):
    events, report = parsed
    stamps = [event.timestamp for event in events]
    assert stamps == sorted(stamps)
    topics = {type(event.record).__name__: event.topic for event in events}
    assert topics == {
        "Trade": "market.trades",
        "Quote": "market.quotes",
        "BookUpdate": "market.book",
    }
    assert all(event.timestamp == event.record.timestamp for event in events)
    assert report.counts["book_gaps"] == 0
    assert report.counts["invalid_lines"] == 0


def test_book_starts_at_the_snapshot_and_skips_diffs_it_already_contains(parsed):
    events, report = parsed
    books = records(events, BookUpdate)
    snapshot, first_diff = books[0], books[1]
    assert snapshot.kind is BookUpdateKind.SNAPSHOT
    assert snapshot.last_update_id == 50093239218
    assert len(snapshot.bids) == len(snapshot.asks) == 1000
    # the diffs ending at ...202 and ...207 precede the snapshot's state: dropped
    assert (first_diff.first_update_id, first_diff.last_update_id) == (50093239208, 50093239224)
    assert report.counts["stale_diffs"] == 2
    assert len(books) == 1 + 3451 - 2
    # the REST reply came late: the snapshot takes the time of its first diff at the latest
    assert snapshot.timestamp <= first_diff.timestamp
    for previous, diff in itertools.pairwise(books[1:]):
        assert diff.first_update_id == previous.last_update_id + 1


def test_rebuilt_book_matches_the_venues_own_best_bid_and_offer(parsed, raw_lines):
    """bookTicker pushes every change of the best bid/offer with the update id it reflects,
    so after each diff the rebuilt book's top must equal the last bookTicker up to that id."""
    events, _ = parsed
    tickers = sorted(
        (m["data"]["u"], Decimal(m["data"]["b"]), Decimal(m["data"]["a"]))
        for _, m in raw_lines
        if m.get("stream", "").endswith("@bookTicker")
    )
    ticker_ids = [ticker[0] for ticker in tickers]
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    checked = 0
    for book in records(events, BookUpdate):
        if book.kind is BookUpdateKind.SNAPSHOT:
            bids.clear()
            asks.clear()
        for side, levels in ((bids, book.bids), (asks, book.asks)):
            for level in levels:
                if level.quantity == 0:
                    side.pop(level.price, None)
                else:
                    side[level.price] = level.quantity
        best_bid, best_ask = max(bids), min(asks)
        assert best_bid < best_ask
        index = bisect.bisect_right(ticker_ids, book.last_update_id) - 1
        if index >= 0:
            assert (best_bid, best_ask) == tickers[index][1:]
            checked += 1
    assert checked > 3000


# ---- hand-made captures -------------------------------------------------------------------

BASE_MS = 1_723_161_300_000  # 2024-08-08T23:55:00Z
OFFSET_MS = 1270  # the made-up recorder runs 1.27 s behind


def capture_line(local_ms: int, message: dict) -> str:
    return f"{local_ms * 1_000_000} {json.dumps(message)}"


def depth(local_ms: int, first: int, last: int, bid: str = "100.0", **extra) -> str:
    data = {"e": "depthUpdate", "E": local_ms + OFFSET_MS, "s": "BTCUSDT", "U": first, "u": last}
    data |= {"b": [[bid, "1"]], "a": [["101.0", "2"]], **extra}
    return capture_line(local_ms, {"stream": "btcusdt@depth@100ms", "data": data})


def snapshot(local_ms: int, last_id: int, **extra) -> str:
    body = {"lastUpdateId": last_id, "bids": [["100.0", "1"]], "asks": [["101.0", "2"]], **extra}
    return capture_line(local_ms, body)


def write(tmp_path: Path, lines: list[str], name: str = "btcusdt_test.gz") -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt") as out:
        out.write("\n".join(lines) + "\n")
    return path


def book_ids(events: list[MarketEvent]) -> list[tuple[str, int | None, int | None]]:
    return [
        (book.kind.value, book.first_update_id, book.last_update_id)
        for book in records(events, BookUpdate)
    ]


def test_spot_gap_pauses_the_book_until_the_next_snapshot(tmp_path):
    t = BASE_MS
    path = write(
        tmp_path,
        [
            depth(t + 0, 90, 99),  # before the snapshot and older than it
            depth(t + 100, 100, 100),  # ends exactly at the snapshot: contained in it
            snapshot(t + 150, 100),
            depth(t + 200, 101, 103),  # U <= 101 <= u: the first applied
            depth(t + 300, 104, 105),
            depth(t + 400, 107, 108),  # 106 is missing: a gap
            depth(t + 500, 109, 110),  # not published: out of sync
            snapshot(t + 550, 110),  # resync; buffered diffs end at or before 110
            depth(t + 600, 111, 112),
        ],
    )
    report = FeedReport()
    events = list(read_capture(path, report=report))
    assert book_ids(events) == [
        ("snapshot", None, 100),
        ("diff", 101, 103),
        ("diff", 104, 105),
        ("snapshot", None, 110),
        ("diff", 111, 112),
    ]
    assert report.counts["book_gaps"] == 1
    assert "gap" in report.warnings[0] and "BTC/USDT" in report.warnings[0]
    assert report.counts["stale_diffs"] == 4  # 90-99, 100-100, 107-108, 109-110


def test_spot_snapshot_newer_than_every_buffered_diff_waits_for_the_stream(tmp_path):
    t = BASE_MS
    path = write(
        tmp_path,
        [snapshot(t, 100), depth(t + 100, 95, 99), depth(t + 200, 100, 102)],
    )
    events = list(read_capture(path))
    assert book_ids(events) == [("snapshot", None, 100), ("diff", 100, 102)]


def test_spot_first_diff_past_the_snapshot_is_a_gap(tmp_path):
    t = BASE_MS
    path = write(tmp_path, [snapshot(t, 100), depth(t + 100, 103, 105)])
    report = FeedReport()
    events = list(read_capture(path, report=report))
    assert book_ids(events) == [("snapshot", None, 100)]  # a true state, diffs withheld
    assert report.counts["book_gaps"] == 1


def test_futures_capture_follows_the_previous_id_chain(tmp_path):
    t = BASE_MS

    def fdepth(local_ms: int, first: int, last: int, previous: int) -> str:
        return depth(local_ms, first, last, pu=previous, T=local_ms + OFFSET_MS - 1)

    agg = {"e": "aggTrade", "E": t + 40 + OFFSET_MS, "s": "BTCUSDT", "a": 77, "p": "100.5"}
    agg |= {"q": "0.3", "f": 1, "l": 2, "T": t + 39 + OFFSET_MS, "m": False}
    ticker = {"e": "bookTicker", "u": 98, "s": "BTCUSDT", "b": "100.0", "B": "1"}
    ticker |= {"a": "101.0", "A": "2", "T": t + 20 + OFFSET_MS, "E": t + 21 + OFFSET_MS}
    path = write(
        tmp_path,
        [
            fdepth(t, 95, 99, 94),  # u < lastUpdateId: dropped
            capture_line(t + 30, {"stream": "btcusdt@bookTicker", "data": ticker}),
            capture_line(t + 40, {"stream": "btcusdt@aggTrade", "data": agg}),
            snapshot(t + 50, 100, E=t + 49 + OFFSET_MS, T=t + 48 + OFFSET_MS),
            fdepth(t + 100, 97, 100, 99),  # U <= 100 <= u: applied (spot would drop it)
            fdepth(t + 200, 101, 103, 100),  # pu = previous u
            fdepth(t + 300, 104, 105, 102),  # pu should be 103: gap
        ],
        name="btcusdt_futures.txt",
    )
    report = FeedReport()
    events = list(read_capture(path, report=report))
    assert book_ids(events) == [("snapshot", None, 100), ("diff", 97, 100), ("diff", 101, 103)]
    assert report.counts["book_gaps"] == 1
    assert {(e.record.symbol, e.record.venue) for e in events} == {("BTC/USDT:USDT", "binanceusdm")}
    (trade,) = records(events, Trade)
    assert (trade.trade_id, trade.aggressor_side) == ("77", Side.BUY)
    assert trade.timestamp == (t + 39 + OFFSET_MS) * 1000  # T, the trade time
    (quote,) = records(events, Quote)
    assert quote.timestamp == (t + 20 + OFFSET_MS) * 1000  # futures bookTicker carries T
    assert records(events, BookUpdate)[0].timestamp == (t + 48 + OFFSET_MS) * 1000


def test_messages_without_exchange_time_get_the_estimated_offset(tmp_path):
    t = BASE_MS
    ticker = {"u": 5, "s": "BTCUSDT", "b": "100.0", "B": "1", "a": "101.0", "A": "2"}
    path = write(
        tmp_path,
        [
            depth(t, 1, 2),
            capture_line(t + 50, {"stream": "btcusdt@bookTicker", "data": ticker}),
            depth(t + 100, 3, 4),
        ],
    )
    (quote,) = records(list(read_capture(path)), Quote)
    assert quote.received_at == (t + 50) * 1000
    assert quote.timestamp == (t + 50 + OFFSET_MS) * 1000


def test_bad_lines_are_reported_not_fatal(tmp_path):
    t = BASE_MS
    path = write(
        tmp_path,
        [
            capture_line(t, {"result": None, "id": 1}),  # a subscription reply
            f"{t * 1_000_000} [1, 2]",
            f"{t * 1_000_000} {{not json",
            depth(t + 100, 1, 2, bid="-5"),
            depth(t + 100, 1, 2),
        ],
    )
    report = FeedReport()
    events = list(read_capture(path, report=report))
    assert events == []  # the good diff waits for a snapshot that never comes
    assert report.counts["unknown_messages"] == 2
    assert report.counts["invalid_lines"] == 2
    assert "line 3" in report.warnings[0]


def test_a_snapshot_behind_the_published_book_is_ignored_and_a_newer_one_resyncs(tmp_path):
    t = BASE_MS
    path = write(
        tmp_path,
        [
            snapshot(t, 100),
            depth(t + 100, 101, 105),
            snapshot(t + 150, 103),  # the book is already at 105
            depth(t + 200, 106, 107),
            snapshot(t + 250, 110),  # ahead of the stream: the next diff must straddle 111
            depth(t + 300, 108, 109),
            depth(t + 400, 110, 112),
        ],
    )
    report = FeedReport()
    assert book_ids(list(read_capture(path, report=report))) == [
        ("snapshot", None, 100),
        ("diff", 101, 105),
        ("diff", 106, 107),
        ("snapshot", None, 110),
        ("diff", 110, 112),
    ]
    assert (report.counts["stale_snapshots"], report.counts["book_gaps"]) == (1, 0)


def test_clock_offset_per_minute_falls_back_to_the_nearest_minute():
    minute = 60_000_000
    samples = [(0, 1_000), (10, 1_010), (20, 1_090), (5 * minute, 5 * minute + 2_000)]
    offset = ClockOffset.estimate(samples)
    assert offset.minutes == (0, 5)
    assert offset.medians == (1_000, 2_000)  # the median shrugs off the 1,070 µs straggler
    assert offset.at(minute + 1) == 1_000
    assert offset.at(4 * minute) == 2_000
    assert offset.at(-minute) == 1_000 and offset.at(99 * minute) == 2_000
    assert ClockOffset.estimate([]).at(0) == 0


def test_empty_side_of_a_ticker_is_absent_not_zero(tmp_path):
    ticker = {"u": 5, "s": "ETHBTC", "b": "0.00000000", "B": "0", "a": "0.05", "A": "3"}
    path = write(tmp_path, [capture_line(BASE_MS, {"stream": "ethbtc@bookTicker", "data": ticker})])
    (quote,) = records(list(read_capture(path)), Quote)
    assert quote.symbol == "ETH/BTC"
    assert (quote.bid_price, quote.bid_size, quote.ask_price) == (None, None, Decimal("0.05"))
