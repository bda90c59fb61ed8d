"""The whole pipeline on a live venue's market data, from the feed processor only.

The engine configuration alone names the exchange emulator in `[gateway.venues.binance]`
(where orders go) and in `[feed.venues.binance]` (where the market is read), once with the
emulator speaking Binance (`exchange = "binance"`: the feed follows its WebSocket streams)
and once speaking Nobitex (`exchange = "nobitex"`: ccxt.pro has no Nobitex, so the feed
polls its REST API). `Pipeline.start()` starts risk, the desk, the gateway, the feed and the
monitor; the test publishes a signal and nothing else, so every quote, print and book the
stages read is the feed's. The signal goes through risk and the desk to the gateway, the
emulator fills it, the OMS finalises it, and TCA measures it against the feed's market;
`fillstream audit` then finds the log whole.

The emulator's recording is moved to start now, and its market follows the wall clock, so
the venue's times and the feed's receipt times are one clock, as with a real exchange.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.pipeline import Watcher, feed, tick
from fillstream.schemas.models import Trade
from tests.integration.live import running_pipeline
from tests.integration.test_audit_on_kafka import run_audit
from tests.integration.test_gateway_on_kafka import credentials, emulator
from tests.integration.test_gateway_on_kafka import engine_config as gateway_config
from tests.integration.test_pipeline_on_emulator import final_states
from tests.unit.test_replay_btcusdt import SECOND, T0, capture, signal

pytestmark = pytest.mark.integration

ORDER = "o-live-market"
MARKET_TOPICS = ("market.quotes", "market.trades", "market.book")


def from_now(events: Iterable[MarketEvent], now_us: int) -> Iterator[MarketEvent]:
    """The recording moved in time so that T0 is `now_us`: the venue's times are today's."""
    shift = now_us - T0
    for event in events:
        moved = {"timestamp": event.record.timestamp + shift}
        if getattr(event.record, "received_at", None) is not None:
            moved["received_at"] = event.record.received_at + shift  # type: ignore[union-attr]
        yield replace(
            event, timestamp=event.timestamp + shift, record=event.record.model_copy(update=moved)
        )


def engine_config(folder: Path, url: str, exchange: str) -> Path:
    """The gateway test's configuration (Binance traded at the emulator), with Binance read
    there too."""
    path = gateway_config(folder, url, exchange)
    streams = f'ws_url = "{url.replace("http://", "ws://")}"' if exchange == "binance" else ""
    with path.open("a") as config:
        config.write(
            f"""
[feed.venues.binance]
exchange = "{exchange}"
symbols = ["BTC/USDT"]
api_url = "{url}"
{streams}
poll_interval_seconds = 0.2
depth = 20
"""
        )
    return path


def wait_for_market(watcher: Watcher, timeout: float = 60) -> None:
    """Until the feed has published quotes, prints and a book (and so reference prices)."""
    deadline = time.monotonic() + timeout
    while not all(watcher.records[topic] for topic in (*MARKET_TOPICS, "market.reference")):
        if time.monotonic() > deadline:
            counts = {topic: len(watcher.records[topic]) for topic in MARKET_TOPICS}
            raise AssertionError(f"no live market within {timeout} s: {counts}")
        time.sleep(0.5)
        watcher.drain()


def measured(watcher: Watcher, timeout: float = 90) -> dict:
    """The order's TCA result, once published."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watcher.drain()
        for result in watcher.records["tca"]:
            if result["order_id"] == ORDER:
                return result
        time.sleep(0.5)
    raise AssertionError(f"no TCA for {ORDER} within {timeout} s")


@pytest.fixture(scope="module", params=["binance", "nobitex"])
def live(request, kafka_bootstrap, tmp_path_factory):
    dialect = request.param
    now = time.time_ns() // 1_000_000 * 1_000  # a whole millisecond, as venues stamp
    recording = itertools.takewhile(lambda e: e.timestamp <= T0 + 120 * SECOND, load(capture()))
    market = list(from_now(recording, now))
    with (
        pytest.MonkeyPatch.context() as env,
        emulator(market, now, speed=1.0, dialect=dialect) as url,
    ):
        credentials(env)
        config = engine_config(tmp_path_factory.mktemp("config"), url, dialect)
        with running_pipeline(
            kafka_bootstrap, tmp_path_factory, f"live{dialect}", config=config
        ) as (
            pipeline,
            watcher,
        ):
            wait_for_market(watcher)
            order = signal("live-market", 0, quantity="0.05", decision_price="61830") | {
                "created_at": time.time_ns() // 1_000
            }
            feed([], [order])
            states = final_states(watcher, [ORDER], timeout=45)
            done = max(r["timestamp"] for r in watcher.records["fills"] if r["order_id"] == ORDER)
            tick(done + SECOND + load_config(config).tca.horizons.longest_us)
            tca = measured(watcher)
            pipeline.check_alive()
            started = set(pipeline.processes)
            pipeline.stop()  # nothing acts on the log while it is audited
            audit = run_audit(tmp_path_factory.mktemp("audit"))
            yield started, watcher.records, market, states[ORDER], tca, audit


def test_the_pipeline_runs_with_the_feed_as_its_only_market(live):
    started, *_ = live
    assert started == {"risk", "desk", "gateway", "feed", "monitor"}


def test_the_market_on_the_topics_is_the_venues(live):
    _, records, market, *_ = live
    recorded = {
        (e.record.price, e.record.quantity, e.record.timestamp)
        for e in market
        if isinstance(e.record, Trade)
    }
    prints = [Trade.model_validate(t) for t in records["market.trades"]]
    assert prints and {(t.price, t.quantity, t.timestamp) for t in prints} <= recorded
    for topic in MARKET_TOPICS:
        assert {r["venue"] for r in records[topic]} == {"binance"}, topic
        assert all(r["received_at"] is not None for r in records[topic]), topic  # the feed's


def test_a_signal_is_filled_at_the_venue_and_measured(live):
    _, records, _, state, tca, _ = live
    assert state["status"] == "filled", str(state)
    assert state["filled_quantity"] == D("0.05")
    fills = [r for r in records["fills"] if r["order_id"] == ORDER and r["last_quantity"] > 0]
    assert any("#trade:" in r["report_id"] for r in fills)  # the gateway's, from the venue
    assert sum(r["last_quantity"] for r in fills) == D("0.05")
    # TCA's arrival price is risk's reference when it approved the order: the mid of a quote
    # the feed published (else its last print), nothing from anywhere else.
    mids = {
        (D(q["bid_price"]) + D(q["ask_price"])) / 2
        for q in records["market.quotes"]
        if q["bid_price"] is not None and q["ask_price"] is not None
    }
    prints = {D(t["price"]) for t in records["market.trades"]}
    assert tca["arrival_price"] is not None and D(tca["arrival_price"]) in mids | prints
    assert tca["arrival_slippage_bps"] is not None
    assert tca["total_cost_bps"] is not None


def test_the_audit_passes(live):
    *_, (code, report, output) = live
    assert code == 0, output
    assert report["violations"] == []
    assert report["orders"] == 1 and report["working"] == 0
