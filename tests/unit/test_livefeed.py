"""The live feed's pure core, on messages of the recorded Binance capture passed through
ccxt.pro's own Binance parsing and book keeping (offline: no socket, no Kafka).

Values are checked by hand against the capture's lines (2024-08-08 23:54:15 UTC):
line 3 bookTicker u=50093239212 b 61837.63/3.78826 a 61837.64/1.54698; line 4 trade
t=3735683259 p 61837.63 q 0.02 T 1723161255342 m=true (the seller took); line 8 the REST
snapshot lastUpdateId 50093239218; lines 1 and 2 diffs ending at ...202 and ...207 (stale for
that snapshot), line 6 the diff ...208–...224 (the first to apply: ask 61837.64 becomes
1.60520, bid 61820.99 goes), line 10 ...225–...237.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal as D
from typing import Any

import ccxt
import ccxt.pro
import pytest

from fillstream.config import DEFAULT_CONFIG, ConfigError, load_config
from fillstream.connectors.feeds.samples import sample_file
from fillstream.connectors.livefeed.config import parse_feed
from fillstream.connectors.livefeed.core import (
    BookKeeper,
    Freshness,
    TradeTape,
    book_state,
    exact,
    quote_of,
    touch_of,
    trade_of,
    trades_of,
)
from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.models import BookUpdateKind, Side

RECEIVED = 1723161254_087896  # µs: the recorder's clock at line 4
CAPTURE = sample_file("btcusdt_20240808.gz")
needs_capture = pytest.mark.skipif(CAPTURE is None, reason="the Binance capture is absent")


class _Client:
    """What ccxt.pro's handlers use of a connection: its URL, and where results go."""

    url = "wss://stream.binance.com:9443/ws/0"

    def __init__(self) -> None:
        self.subscriptions: dict[str, Any] = {}
        self.resolved: list[Any] = []
        self.rejected: list[Exception] = []

    def resolve(self, value: Any, _hash: str) -> None:
        self.resolved.append(value)

    def reject(self, error: Exception, _hash: str) -> None:
        self.rejected.append(error)


@pytest.fixture(scope="module")
def lines() -> list[dict[str, Any]]:
    if CAPTURE is None:
        pytest.skip("the Binance capture is absent")
    with gzip.open(CAPTURE, "rt") as text:
        return [json.loads(next(text).split(" ", 1)[1]) for _ in range(10)]


@pytest.fixture
def binance() -> Any:
    exchange = ccxt.pro.binance()
    exchange.set_markets(
        [
            {
                "id": "BTCUSDT",
                "lowercaseId": "btcusdt",
                "symbol": "BTC/USDT",
                "base": "BTC",
                "quote": "USDT",
                "baseId": "BTC",
                "quoteId": "USDT",
                "type": "spot",
                "spot": True,
                **dict.fromkeys(("margin", "swap", "future", "option", "contract"), False),
                "linear": None,
                "inverse": None,
                "active": True,
                "precision": {},
                "limits": {},
            }
        ]
    )
    return exchange


def _book(binance: Any, snapshot: dict[str, Any]) -> Any:
    """ccxt.pro's book after its REST snapshot, as `watch_order_book` starts it."""
    book = binance.order_book({}, 1000)
    parsed = binance.parse_order_book(snapshot, "BTC/USDT")
    parsed["nonce"] = snapshot["lastUpdateId"]
    book.reset(parsed)
    binance.orderbooks["BTC/USDT"] = book
    return book


def test_numbers_from_ccxt_are_exact():
    assert exact(61837.63) == D("61837.63")
    assert exact(9e-05) == D("0.00009")
    assert exact(0.1 + 0.2) == D("0.30000000000000004")  # a float from no decimal stays itself
    assert exact("0.02000000") == D("0.02000000")
    assert exact(3) == D(3)


@needs_capture
def test_a_recorded_trade_becomes_the_recorded_feeds_print(lines, binance):
    parsed = binance.parse_ws_trade(lines[3]["data"], binance.market("BTC/USDT"))
    trade = trade_of("binance", parsed, RECEIVED)
    assert trade.symbol == "BTC/USDT" and trade.venue == "binance"
    assert trade.trade_id == "3735683259"
    assert (trade.price, trade.quantity) == (D("61837.63"), D("0.02"))
    assert trade.aggressor_side is Side.SELL  # m=true: the buyer made, the seller took
    assert trade.timestamp == 1723161255_342000  # T, in µs
    assert trade.received_at == RECEIVED


@needs_capture
def test_a_recorded_book_ticker_becomes_a_quote(lines, binance):
    client = _Client()
    binance.handle_message(client, lines[2])
    tickers = client.resolved[-1]  # what `watch_bids_asks` hands back
    quote = quote_of("binance", tickers["BTC/USDT"], RECEIVED)
    assert quote is not None
    assert (quote.bid_price, quote.bid_size) == (D("61837.63"), D("3.78826"))
    assert (quote.ask_price, quote.ask_size) == (D("61837.64"), D("1.54698"))
    assert quote.timestamp == quote.received_at == RECEIVED  # spot bookTicker has no time


def test_a_ticker_quoting_nothing_is_no_quote():
    assert quote_of("binance", {"symbol": "BTC/USDT", "bid": None, "ask": None}, RECEIVED) is None


@needs_capture
def test_the_recorded_book_is_a_snapshot_then_diffs_that_rebuild_it(lines, binance):
    client = _Client()
    book = _book(binance, lines[7])
    keeper = BookKeeper("binance")
    view = BookView()
    published = []

    def receive(message: dict[str, Any] | None, at: int) -> None:
        if message is not None:
            binance.handle_message(client, message)
        update = keeper.on_book(book_state(book, 5000, at))
        if update is not None:
            published.append(update)
            view.apply(update)
        # what the feed published so far, applied in order, is ccxt's book
        assert list(view.levels(Side.BUY)) == [(exact(p), exact(q)) for p, q in book["bids"]]
        assert list(view.levels(Side.SELL)) == [(exact(p), exact(q)) for p, q in book["asks"]]

    receive(None, RECEIVED)
    for number in (0, 1):  # diffs older than the snapshot: ccxt drops them, nothing is published
        receive(lines[number], RECEIVED + number + 1)
    receive(lines[5], RECEIVED + 10)
    receive(lines[9], RECEIVED + 20)

    snapshot, first, second = published
    assert snapshot.kind is BookUpdateKind.SNAPSHOT
    assert snapshot.last_update_id == 50093239218
    assert (snapshot.bids[0].price, snapshot.bids[0].quantity) == (D("61837.63"), D("3.78826"))
    assert snapshot.timestamp == RECEIVED  # a REST snapshot has no time: its receipt's
    assert len(snapshot.bids) == len(snapshot.asks) == 1000  # the snapshot's
    assert first.kind is BookUpdateKind.DIFF
    assert (first.first_update_id, first.last_update_id) == (50093239219, 50093239224)
    assert (second.first_update_id, second.last_update_id) == (50093239225, 50093239237)
    assert first.timestamp == 1723161255_408000  # the diff's E
    asks = {level.price: level.quantity for level in first.asks}
    bids = {level.price: level.quantity for level in first.bids}
    assert asks[D("61837.64")] == D("1.6052")
    assert bids[D("61820.99")] == 0  # a level the diff removed
    assert not client.rejected


@needs_capture
def test_a_gap_is_refused_by_ccxt_and_the_book_is_published_again_from_a_snapshot(lines, binance):
    client = _Client()
    book = _book(binance, lines[7])
    keeper = BookKeeper("binance")
    assert keeper.on_book(book_state(book, 5, RECEIVED)) is not None
    binance.handle_message(client, lines[9])  # line 6 (...208–...224) never arrived
    (error,) = client.rejected
    assert isinstance(error, ccxt.ChecksumError)  # the feed counts the gap and resyncs
    keeper.resync()
    again = _book(binance, lines[7])
    update = keeper.on_book(book_state(again, 5, RECEIVED + 1))
    assert update is not None and update.kind is BookUpdateKind.SNAPSHOT


def _state(update_id: int | None, bids: dict[str, str], asks: dict[str, str]) -> Any:
    book = {
        "symbol": "BTC/USDT",
        "bids": [[float(p), float(q)] for p, q in bids.items()],
        "asks": [[float(p), float(q)] for p, q in asks.items()],
        "nonce": update_id,
        "timestamp": None,
    }
    return book_state(book, 2, RECEIVED)


def test_a_stale_state_is_dropped_and_an_unchanged_one_publishes_nothing():
    keeper = BookKeeper("binance")
    assert keeper.on_book(_state(10, {"100": "1"}, {"101": "1"})) is not None
    assert keeper.on_book(_state(9, {"100": "5"}, {"101": "1"})) is None
    assert keeper.on_book(_state(10, {"100": "5"}, {"101": "1"})) is None
    assert keeper.stale == 2
    assert keeper.on_book(_state(11, {"100": "1"}, {"101": "1"})) is None  # nothing changed
    diff = keeper.on_book(_state(12, {"100": "2"}, {"101": "1"}))
    assert diff is not None and (diff.first_update_id, diff.last_update_id) == (11, 12)


def test_only_the_published_depth_is_diffed():
    keeper = BookKeeper("binance")
    keeper.on_book(_state(1, {"100": "1", "99": "1"}, {"101": "1"}))
    # a better bid pushes 99 out of the two levels published: it leaves the published book
    diff = keeper.on_book(_state(2, {"100.5": "1", "100": "1", "99": "1"}, {"101": "1"}))
    assert diff is not None
    assert [(level.price, level.quantity) for level in diff.bids] == [
        (D("100.5"), D(1)),
        (D(99), D(0)),
    ]


def test_a_polled_book_gives_the_touch_and_an_empty_side_quotes_nothing():
    quote = touch_of("binance", _state(7, {"100": "1.5", "99": "2"}, {"101": "0.25"}))
    assert quote is not None
    assert (quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        D(100),
        D("1.5"),
        D(101),
        D("0.25"),
    )
    assert quote.timestamp == quote.received_at == RECEIVED  # the book came without a time
    one_sided = touch_of("binance", _state(8, {}, {"101": "1"}))
    assert one_sided is not None and (one_sided.bid_price, one_sided.bid_size) == (None, None)
    assert touch_of("binance", _state(9, {}, {})) is None


def test_polled_books_without_update_ids_are_diffed_without_ids():
    keeper = BookKeeper("binance")
    keeper.on_book(_state(None, {"100": "1"}, {"101": "1"}))
    diff = keeper.on_book(_state(None, {"100": "3"}, {"101": "1"}))
    assert diff is not None and diff.first_update_id is None and diff.last_update_id is None


@needs_capture
def test_a_trade_is_published_once_across_reconnections_and_polls(lines, binance):
    parsed = binance.parse_ws_trade(lines[3]["data"], binance.market("BTC/USDT"))
    later = {**parsed, "id": "3735683260"}
    tape = TradeTape()
    first = tape.fresh([trade_of("binance", parsed, RECEIVED)])
    again = tape.fresh(
        [trade_of("binance", parsed, RECEIVED + 5), trade_of("binance", later, RECEIVED + 5)]
    )
    assert [t.trade_id for t in first] == ["3735683259"]
    assert [t.trade_id for t in again] == ["3735683260"]
    assert tape.repeated == 1
    assert tape.since_ms == 1723161255342  # the latest print's time: ask from there on
    assert TradeTape().since_ms is None  # nothing yet: the venue's recent trades


def test_prints_without_ids_are_named_by_what_they_are_and_published_once():
    """Nobitex's public trades carry no ids: two equal prints of one millisecond are two
    trades, and the same window polled again (plus a new print) publishes only the new one."""

    def nobitex(ms: int, price: float, amount: float) -> dict[str, Any]:
        return {
            "id": None,
            "symbol": "BTC/USDT",
            "timestamp": ms,
            "price": price,
            "amount": amount,
            "side": "sell",
        }

    window = [nobitex(1723161255342, 61837.63, 0.02), nobitex(1723161255342, 61837.63, 0.02)]
    tape = TradeTape()
    first = tape.fresh(trades_of("nobitex", window, RECEIVED))
    newer = nobitex(1723161255617, 61837.59, 0.00016)
    again = tape.fresh(trades_of("nobitex", [*window, newer], RECEIVED + 5))
    assert [t.trade_id for t in first] == [
        "1723161255342:61837.63:0.02:sell#0",
        "1723161255342:61837.63:0.02:sell#1",
    ]
    assert [(t.trade_id, t.quantity) for t in again] == [
        ("1723161255617:61837.59:0.00016:sell#0", D("0.00016"))
    ]
    assert tape.repeated == 2


def test_staleness_counts_from_the_last_receipt_or_the_start():
    freshness = Freshness(started_us=1_000_000)
    freshness.hear("binance", "BTC/USDT", 3_000_000)
    freshness.hear("binance", "BTC/USDT", 2_000_000)  # a late report never makes it fresher
    figures = freshness.staleness(
        "feed", "host:1", [("binance", "BTC/USDT"), ("binance", "ETH/USDT")], 7_500_000
    )
    assert [(m.labels["symbol"], m.value) for m in figures] == [
        ("BTC/USDT", 4.5),
        ("ETH/USDT", 6.5),
    ]
    assert all(m.name == "feed_staleness_seconds" and m.processor == "feed" for m in figures)


def test_feed_tables_are_read_and_mistakes_refused(tmp_path):
    venues = parse_feed(
        {
            "venues": {
                "binance": {
                    "exchange": "binance",
                    "symbols": ["BTC/USDT"],
                    "ws_url": "ws://127.0.0.1:1",
                    "poll_interval_seconds": 2,
                }
            }
        }
    )
    assert venues["binance"].symbols == ("BTC/USDT",)
    assert venues["binance"].transport == "auto" and venues["binance"].depth == 100
    for table, mistake in (
        ({"exchange": "nowhere", "symbols": ["X/Y"]}, "not a ccxt exchange id"),
        ({"exchange": "binance", "symbols": []}, "symbols"),
        ({"exchange": "binance", "symbols": ["X/Y"], "ws_url": "http://x"}, "ws_url"),
        ({"exchange": "binance", "symbols": ["X/Y"], "api_key_env": "K"}, "api_key_env"),
        ({"exchange": "binance", "symbols": ["X/Y"], "transport": "fax"}, "transport"),
    ):
        with pytest.raises(ValueError, match=mistake):
            parse_feed({"venues": {"binance": table}})
    config = tmp_path / "engine.toml"
    config.write_text(
        DEFAULT_CONFIG.read_text()
        + '\n[feed.venues.nowhere]\nexchange = "binance"\nsymbols = ["BTC/USDT"]\n'
    )
    with pytest.raises(ConfigError, match="no \\[\\[venues\\]\\] entry is named 'nowhere'"):
        load_config(config)
