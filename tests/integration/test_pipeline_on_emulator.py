"""The whole pipeline against the exchange emulator, by configuration alone.

The engine configuration's `[gateway.venues.binance]` points Binance at the emulator, so the
simulated venue leaves Binance's slices to the gateway processor, which trades them over the
real ccxt client and HTTP. Signals go through risk, routing and the executor (a direct order
and a TWAP), the gateway's executions through the OMS to final states, and TCA measures every
order. The emulator matches against the same BTCUSDT capture that is fed to the pipeline, its
market moved to each fed event's time through its control endpoint.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.pacing import pace
from fillstream.pipeline import Pipeline, Watcher, feed, tick
from tests.integration.live import running_pipeline
from tests.integration.test_gateway_on_kafka import credentials, emulator, engine_config
from tests.unit.test_replay_btcusdt import SECOND, T0, capture, signal

pytestmark = pytest.mark.integration

END = T0 + 100 * SECOND
SIGNALS = [
    signal("emu-market", 5, quantity="0.05", decision_price="61830"),
    signal(
        "emu-twap",
        10,
        quantity="0.3",
        algorithm="twap",
        algorithm_parameters={"duration_seconds": "60", "interval_seconds": "10"},
        decision_price="61830",
    ),
    signal(
        "emu-ioc",
        20,
        side="sell",
        quantity="0.02",
        order_type="limit",
        price="61000",
        time_in_force="IOC",
        decision_price="61830",
    ),
]
ORDERS = {f"o-{s['signal_id']}": s for s in SIGNALS}


def in_step(events: Iterable[MarketEvent], url: str) -> Iterator[MarketEvent]:
    """The events as fed, the emulator's market moved along with them (every half second)."""
    moved = 0
    for event in events:
        if event.timestamp >= moved + SECOND // 2:
            body = json.dumps({"to_us": event.timestamp}).encode()
            request = urllib.request.Request(
                f"{url}/_emulator/advance", body, {"Content-Type": "application/json"}
            )
            urllib.request.urlopen(request, timeout=10).read()
            moved = event.timestamp
        yield event


def final_states(
    watcher: Watcher, orders: Iterable[str] = ORDERS, timeout: float = 90
) -> dict[str, dict]:
    """Each order's latest state, once every one of `orders` is final."""
    deadline = time.monotonic() + timeout
    while True:
        watcher.drain()
        states = {s["order_id"]: s for s in watcher.records["orders.state"]}
        done = {"filled", "cancelled", "rejected", "expired"}
        if all(states.get(order_id, {}).get("status") in done for order_id in orders):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"orders not final after {timeout} s: {states}")
        time.sleep(0.5)


@dataclass
class OnEmulator:
    """A pipeline whose Binance is the exchange emulator, and the market to feed it."""

    pipeline: Pipeline
    watcher: Watcher
    url: str  # the emulator's, for its control endpoints
    config: Path
    market: Iterator[MarketEvent]  # the capture, paced, the emulator's market moved along


@contextmanager
def on_emulator(
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    end: int,
    *,
    extra_config: str = "",
    speed: float = 4,
) -> Iterator[OnEmulator]:
    """The BTCUSDT capture up to `end` served by the emulator, and every processor running
    with Binance's slices going to it through the ccxt gateway (the configuration, plus
    `extra_config`); the market fed `speed` times faster than it was recorded."""
    events = list(itertools.takewhile(lambda e: e.timestamp <= end, load(capture())))
    with pytest.MonkeyPatch.context() as env, emulator(events, events[0].timestamp) as url:
        credentials(env)
        config = engine_config(tmp_path_factory.mktemp("config"), url)
        config.write_text(config.read_text() + extra_config)
        with running_pipeline(kafka_bootstrap, tmp_path_factory, name, config=config) as (
            pipeline,
            watcher,
        ):
            assert "gateway" in pipeline.processes
            market = pace(in_step(events, url), speed, time.sleep, time.monotonic)
            yield OnEmulator(pipeline, watcher, url, config, market)


@pytest.fixture(scope="module")
def records(kafka_bootstrap, tmp_path_factory):
    with on_emulator(kafka_bootstrap, tmp_path_factory, "emu", END) as run:
        feed(run.market, SIGNALS, watcher=run.watcher, pipeline=run.pipeline)
        run.watcher.settle(timeout=120, pipeline=run.pipeline)
        states = final_states(run.watcher)
        tick(END + SECOND + load_config(run.config).tca.horizons.longest_us)
        run.watcher.settle(timeout=120, pipeline=run.pipeline)
        run.pipeline.check_alive()
        yield run.watcher.records, states


def test_every_order_ends_filled_through_the_gateway(records):
    live, states = records
    assert {order_id: states[order_id]["status"] for order_id in ORDERS} == dict.fromkeys(
        ORDERS, "filled"
    )
    for order_id, sent in ORDERS.items():
        assert states[order_id]["filled_quantity"] == D(sent["quantity"])
    ours = [r for r in live["fills"] if r["order_id"] in ORDERS]
    assert ours and {r["venue"] for r in ours} == {"binance"}
    # the gateway's reports: ids from the venue's own trades (`<slice>#trade:<id>`)
    assert any("#trade:" in r["report_id"] for r in ours)
    twap = [s for s in live["slices"] if s["order_id"] == "o-emu-twap" and s["action"] == "new"]
    assert len(twap) >= 2


def test_each_order_is_measured(records):
    live, _ = records
    tca = {result["order_id"]: result for result in live["tca"]}
    assert tca.keys() >= ORDERS.keys()
    for order_id in ORDERS:
        assert tca[order_id]["arrival_slippage_bps"] is not None, order_id
        assert tca[order_id]["total_cost_bps"] is not None, order_id
