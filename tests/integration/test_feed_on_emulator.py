"""The live feed on Kafka, against the exchange emulator's WebSocket streams, by config alone.

The emulator replays the Binance BTCUSDT capture (its market moved on in real time through
its control endpoint) and serves Binance's REST and WebSocket APIs;
`fillstream run feed` (a process of its own, as the pipeline starts it) reads it through
ccxt.pro, and `fillstream run monitor` watches the figures. Then:
- quotes, trades and book reach the market topics with the replayed values;
- after a sequence gap and a dropped connection the book is resynchronised from a snapshot,
  each reported on `metrics`, and the book the topic describes is the emulator's;
- with the market stopped, the feed goes stale and the monitor raises `stale_feed`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from fillstream.config import DEFAULT_CONFIG
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.simvenue.book import BookView
from fillstream.infra.topic_io import consume, end_offsets
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline, log_tail
from fillstream.schemas.models import BookUpdate, Side, Trade
from fillstream.schemas.topics import CATALOG, find
from tests.integration.test_gateway_on_kafka import emulator
from tests.unit.test_replay_btcusdt import capture

pytestmark = pytest.mark.integration

T0 = 1723161256_000000  # 23:54:16 UTC
STEP_US = 100_000  # the market moves this much every STEP_S of wall time: real time
STEP_S = 0.1
DEPTH = 20
STALE_AFTER_S = 3


@contextmanager
def moving_market(url: str) -> Iterator[threading.Event]:
    """The emulator's market moved on in real time, through its control endpoint, while the
    yielded event is set."""
    moving, stop = threading.Event(), threading.Event()
    moving.set()

    def drive() -> None:
        while not stop.wait(STEP_S):
            if moving.is_set():
                control(url, "/_emulator/advance", {"by_us": STEP_US})

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    try:
        yield moving
    finally:
        stop.set()
        thread.join(10)


def engine_config(folder: Path, url: str, transport: str) -> Path:
    path = folder / "engine.toml"
    text = DEFAULT_CONFIG.read_text().replace(
        "max_feed_staleness_seconds = 30", f"max_feed_staleness_seconds = {STALE_AFTER_S}"
    )
    assert f"max_feed_staleness_seconds = {STALE_AFTER_S}" in text
    path.write_text(
        text
        + f"""
[feed.venues.binance]
exchange = "binance"
symbols = ["BTC/USDT"]
api_url = "{url}"
ws_url = "{url.replace("http://", "ws://")}"
transport = "{transport}"
poll_interval_seconds = 0.2
depth = {DEPTH}
"""
    )
    return path


@pytest.fixture(scope="module")
def market() -> list[MarketEvent]:
    return list(load(capture()))


@contextmanager
def feed_on_emulator(
    market: list[MarketEvent], transport: str, kafka_bootstrap: str, tmp: pytest.TempPathFactory
) -> Iterator[tuple[str, threading.Event, Pipeline]]:
    """The emulator with its market moving, and the feed (and a monitor) reading it on topics
    of their own; yields the emulator's URL, the event that keeps its market moving, and the
    processes."""
    with (
        pytest.MonkeyPatch.context() as env,
        emulator(market, T0) as url,
        moving_market(url) as moving,
    ):
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        env.setenv("FILLSTREAM_TOPIC_PREFIX", f"feed{uuid.uuid4().hex[:6]}.")
        env.setenv("FILLSTREAM_STATE_DIR", str(tmp.mktemp("state")))
        env.setenv("FILLSTREAM_METRICS_INTERVAL", "1")
        ensure_topics(CATALOG)
        config = engine_config(tmp.mktemp("config"), url, transport)
        pipeline = Pipeline(config=config, log_dir=tmp.mktemp("logs"))
        pipeline.start_one("monitor")
        pipeline.start_one("feed")
        try:
            yield url, moving, pipeline
        finally:
            pipeline.stop()


def control(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method="GET" if data is None else "POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def records(topic: str) -> list[dict[str, Any]]:
    """Everything on `topic` so far, in each partition's order."""
    spec = find(topic)
    return [r.record for r in consume(spec, from_beginning=True, end=end_offsets(spec))]


def wait_for(what: str, found: Callable[[], bool], pipeline: Pipeline, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        for name, process in pipeline.processes.items():
            if process.poll() is not None:
                log = pipeline.log_dir / f"{name}.log"  # type: ignore[operator]
                pytest.fail(f"{name} exited while waiting for {what}:\n{log_tail(log, 30)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.5)


def feed_figures(name: str) -> list[dict[str, Any]]:
    return [m for m in records("metrics") if m["processor"] == "feed" and m["name"] == name]


def gaps(reason: str) -> float:
    return max(
        (
            m["value"]
            for m in feed_figures("feed_book_gaps_total")
            if m["labels"]["reason"] == reason
        ),
        default=0.0,
    )


def snapshots() -> int:
    return sum(1 for book in records("market.book") if book["kind"] == "snapshot")


def recorded_trades(market: list[MarketEvent]) -> set[tuple[Any, ...]]:
    return {
        (e.record.price, e.record.quantity, e.record.timestamp, e.record.aggressor_side)
        for e in market
        if isinstance(e.record, Trade)
    }


def published_trades_are_recorded_prints(market: list[MarketEvent]) -> list[int]:
    """The trades on the topic are prints of the recording, each once, in time order (ccxt
    orders prints of one millisecond by their ids as text); their ids."""
    trades = [Trade.model_validate(t) for t in records("market.trades")]
    assert all(t.symbol == "BTC/USDT" and t.venue == "binance" for t in trades)
    assert {(t.price, t.quantity, t.timestamp, t.aggressor_side) for t in trades} <= (
        recorded_trades(market)
    )
    ids = [int(t.trade_id) for t in trades]
    assert len(ids) == len(set(ids))
    assert [t.timestamp for t in trades] == sorted(t.timestamp for t in trades)
    return ids


def market_published(least: int) -> Callable[[], bool]:
    """Whether each of the quotes, trades and book topics holds `least` records."""
    return lambda: all(
        len(records(topic)) >= least for topic in ("market.trades", "market.quotes", "market.book")
    )


def the_topics_hold_the_emulators_market(
    url: str, moving: threading.Event, market: list[MarketEvent]
) -> None:
    """Once the market stands still: the book the topic describes (every record applied in
    order) and the latest quote are the emulator's, and its trades are there, each once."""
    moving.clear()
    time.sleep(1.0)  # the last push or poll, and the feed's publication of it
    view = BookView()
    for update in records("market.book"):
        view.apply(BookUpdate.model_validate(update))
    depth = control(url, f"/api/v3/depth?symbol=BTCUSDT&limit={DEPTH}")
    assert list(view.levels(Side.BUY)) == [(D(p), D(q)) for p, q in depth["bids"]]
    assert list(view.levels(Side.SELL)) == [(D(p), D(q)) for p, q in depth["asks"]]
    quote = records("market.quotes")[-1]
    assert (D(quote["bid_price"]), D(quote["ask_price"])) == (
        D(depth["bids"][0][0]),
        D(depth["asks"][0][0]),
    )
    ids = published_trades_are_recorded_prints(market)
    assert max(ids) == control(url, "/api/v3/aggTrades?symbol=BTCUSDT&limit=1")[-1]["a"]


def test_the_feed_publishes_resyncs_and_goes_stale(market, kafka_bootstrap, tmp_path_factory):
    with feed_on_emulator(market, "stream", kafka_bootstrap, tmp_path_factory) as running:
        url, moving, pipeline = running
        # Quotes, trades and book reach the topics with the replayed values.
        wait_for("trades, quotes and a book", market_published(1), pipeline)
        published_trades_are_recorded_prints(market)
        assert records("market.reference")

        # A sequence gap, then a dropped connection: each a resync, each reported.
        control(url, "/_emulator/streams", {"skip_update_ids": 1})
        wait_for("a sequence gap on metrics", lambda: gaps("sequence") >= 1, pipeline)
        wait_for("the snapshot after the gap", lambda: snapshots() >= 2, pipeline)
        assert control(url, "/_emulator/streams", {"drop": True})["dropped"] >= 1
        wait_for("a connection gap on metrics", lambda: gaps("connection") >= 1, pipeline)
        wait_for("the snapshot after the drop", lambda: snapshots() >= 3, pipeline)
        time.sleep(1.5)  # trades go on after the reconnection

        # The market stops: the topics hold the emulator's market, then the feed goes stale.
        the_topics_hold_the_emulators_market(url, moving, market)  # trades once across drops
        wait_for(
            "the monitor's stale_feed alert",
            lambda: any(
                m["processor"] == "monitor"
                and m["name"] == "alert"
                and m["labels"].get("rule") == "stale_feed"
                and m["value"] == 1
                for m in records("metrics")
            ),
            pipeline,
            timeout=25,
        )
        stale = feed_figures("feed_staleness_seconds")[-1]
        assert stale["labels"]["symbol"] == "BTC/USDT" and stale["value"] > 1


def test_a_venue_polled_over_rest_gives_the_same_market(market, kafka_bootstrap, tmp_path_factory):
    with feed_on_emulator(market, "poll", kafka_bootstrap, tmp_path_factory) as running:
        url, moving, pipeline = running
        wait_for("polled trades, quotes and books", market_published(3), pipeline)
        the_topics_hold_the_emulators_market(url, moving, market)
        assert snapshots() == 1  # then diffs between polls
