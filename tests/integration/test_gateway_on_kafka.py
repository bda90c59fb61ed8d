"""The gateway processor on Kafka, against the exchange emulator over HTTP, by config alone.

The engine configuration names the emulator as Binance's `api_url` in a `[gateway.venues]`
table; `fillstream run gateway` (a process of its own, like every processor) takes slices for
Binance from `slices`, journals each step on `gateway.journal`, and publishes the executions on
`fills` and `fills.accounts`. Killed with SIGKILL and started again, it takes up where the
journal left it, and nothing is executed twice. The engine's heartbeat (an executor's, on
`metrics`) keeps the gateway's dead man's switch quiet; when it stops, what rests is cancelled.
Every test runs twice: with the venue's table naming `exchange = "binance"` and the emulator
speaking Binance, then naming `exchange = "nobitex"` and the emulator speaking Nobitex.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal as D
from pathlib import Path

import pytest

from fillstream.config import DEFAULT_CONFIG, load_config
from fillstream.connectors.emulator import Account, Exchange, serve
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.infra.topic_io import consume, end_offsets, make_producer, publish
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline
from fillstream.schemas.models import Command, Slice
from fillstream.schemas.topics import CATALOG, find
from fillstream.streams.telemetry import heartbeat
from tests.unit.test_replay_btcusdt import capture

pytestmark = pytest.mark.integration

T0 = 1723161256_000000  # 23:54:16 UTC, BTC near 61,830 USDT
SECOND = 1_000_000
KEY, SECRET = "gateway-test-key", "gateway-test-secret"


@contextmanager
def emulator(
    market: list[MarketEvent], start: int, speed: float | None = None, dialect: str = "binance"
) -> Iterator[str]:
    """The emulator on `market` from `start` (following the wall clock at `speed`, if given),
    speaking `dialect`, served from a thread; yields its URL."""
    config = load_config()
    exchange = Exchange(
        config.venues["binance"],
        config.instruments.instruments.values(),
        market,
        [Account("acct-gw", KEY, SECRET, {"USDT": D(1_000_000), "BTC": D(10)})],
        start=start,
    )
    url: list[str] = []
    stop = threading.Event()

    async def main() -> None:
        async with serve(exchange, speed=speed, dialect=dialect) as running:
            url.append(running.url)
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not url and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url[0]
    finally:
        stop.set()
        thread.join(10)


def engine_config(folder: Path, url: str, exchange: str = "binance") -> Path:
    path = folder / "engine.toml"
    path.write_text(
        DEFAULT_CONFIG.read_text()
        + f"""
[gateway.venues.binance]
exchange = "{exchange}"
api_url = "{url}"
symbols = ["BTC/USDT"]
api_key_env = "GATEWAY_TEST_KEY"
secret_env = "GATEWAY_TEST_SECRET"
heartbeat_timeout_seconds = {HEARTBEAT_TIMEOUT}
"""
    )
    return path


HEARTBEAT_TIMEOUT = 4  # seconds; the engine below beats every half second


class Engine:
    """Stands for the executors: publishes their heartbeat on `metrics` while `beating`."""

    def __init__(self) -> None:
        self.beating = threading.Event()
        self.beating.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.beating.is_set():
                beat = heartbeat("desk", "test:1", time.time_ns() // 1000)
                publish(find("metrics"), [beat.model_dump()])
            self._stop.wait(0.5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def credentials(env: pytest.MonkeyPatch) -> None:
    """The emulator account's key and secret, where the engine config says they are."""
    env.setenv("GATEWAY_TEST_KEY", KEY)
    env.setenv("GATEWAY_TEST_SECRET", SECRET)


def child(number: int, **terms: object) -> Slice:
    fields = {
        "slice_id": f"o-gw-{number}-1",
        "order_id": f"o-gw-{number}",
        "signal_id": f"gw-{number}",
        "account_id": "acct-gw",
        "symbol": "BTC/USDT",
        "venue": "binance",
        "action": "new",
        "sequence": 1,
        "side": "buy",
        "quantity": "0.01",
        "order_type": "market",
        "created_at": T0,
    }
    return Slice.model_validate(fields | terms)


def executions(order_ids: set[str], wanted: int, timeout: float = 60) -> dict[str, dict]:
    """The distinct reports (by report id) of these orders on `fills`, once `wanted` are in."""
    deadline = time.monotonic() + timeout
    seen: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for item in consume(find("fills"), from_beginning=True, idle_timeout=1):
            if item.record and item.record["order_id"] in order_ids:
                seen[item.record["report_id"]] = item.record
        if len(seen) >= wanted:
            return seen
    raise AssertionError(f"{len(seen)} reports of {sorted(order_ids)} after {timeout} s: {seen}")


@pytest.fixture(scope="module", params=["binance", "nobitex"])
def gateway(request, kafka_bootstrap, tmp_path_factory):
    dialect = request.param
    minute = list(itertools.takewhile(lambda e: e.timestamp < T0 + 60 * SECOND, load(capture())))
    with pytest.MonkeyPatch.context() as env, emulator(minute, T0, dialect=dialect) as url:
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        env.setenv("FILLSTREAM_TOPIC_PREFIX", f"gw{uuid.uuid4().hex[:6]}.")
        env.setenv("FILLSTREAM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        credentials(env)
        env.setenv("FILLSTREAM_LOG_LEVEL", "INFO")
        ensure_topics(CATALOG)
        config = engine_config(tmp_path_factory.mktemp("config"), url, dialect)
        pipeline = Pipeline(config=config, log_dir=tmp_path_factory.mktemp("logs"))
        engine = Engine()
        pipeline.start(["gateway"])
        pipeline.engine = engine
        try:
            yield pipeline
        finally:
            pipeline.stop()
            engine.close()


def test_a_slice_for_binance_fills_at_the_emulator(gateway):
    publish(find("slices"), [child(1).model_dump()])
    reports = executions({"o-gw-1"}, wanted=2)  # the ack and the fill
    fills = [r for r in reports.values() if r["last_quantity"] > 0]
    assert sum(r["last_quantity"] for r in fills) == D("0.01")
    assert {r["venue"] for r in reports.values()} == {"binance"}
    assert fills[-1]["status"] == "filled"
    assert all(D("61000") < r["last_price"] < D("63000") for r in fills)
    steps = [
        item.record["step"]
        for item in consume(find("gateway.journal"), from_beginning=True, idle_timeout=2)
        if item.record and item.record["slice"]["slice_id"] == "o-gw-1-1"
    ]
    assert steps[:3] == ["VALIDATED", "SENDING", "ACKNOWLEDGED"]
    gateway.check_alive()


def test_after_sigkill_the_restarted_gateway_executes_nothing_twice(gateway):
    gateway.kill("gateway")
    publish(find("slices"), [child(2, quantity="0.02").model_dump()])
    gateway.start_one("gateway")
    reports = executions({"o-gw-1", "o-gw-2"}, wanted=4)
    filled = {
        order_id: sum(
            (r["last_quantity"] for r in reports.values() if r["order_id"] == order_id), D(0)
        )
        for order_id in ("o-gw-1", "o-gw-2")
    }
    assert filled == {"o-gw-1": D("0.01"), "o-gw-2": D("0.02")}
    gateway.check_alive()
    # each start reconciles once with the venue: nothing differs, the first order was done
    log = (gateway.log_dir / "gateway.log").read_text()
    assert log.count("reconciliation with binance: clean") == 2, log


def test_a_global_kill_switch_cancels_what_rests_at_the_venue(gateway):
    resting = child(3, order_type="limit", price="50000.00")  # far below the market: it rests
    publish(find("slices"), [resting.model_dump()])
    executions({"o-gw-3"}, wanted=1)  # the ack
    kill = Command(
        command_id="kill-gw",
        kind="kill_switch",
        reason="test",
        issued_by="ops",
        created_at=T0 + SECOND,
    )
    publish(find("commands"), [kill.model_dump()])
    reports = executions({"o-gw-3"}, wanted=2)
    assert [r["status"] for r in reports.values()][-1] == "cancelled"
    gateway.check_alive()


def test_the_venues_figures_are_on_metrics(gateway):
    figures = [
        item.record
        for item in consume(find("metrics"), from_beginning=True, end=end_offsets(find("metrics")))
        if item.record and item.record["processor"] == "gateway"
    ]
    names = {m["name"] for m in figures if m["labels"].get("venue") == "binance"}
    assert {"gateway_breaker_state", "gateway_calls_total"} <= names
    calls = [m["value"] for m in figures if m["name"] == "gateway_calls_total"]
    assert max(calls) >= 3  # at least the balance, the markets, an order


def test_the_venues_balance_is_published_to_every_partition(gateway):
    # The emulator's account starts with 1,000,000 USDT and 10 BTC; the orders above move it.
    balances = [
        item
        for item in consume(find("venue.balances"), from_beginning=True, idle_timeout=2)
        if item.record and item.record["venue"] == "binance"
    ]
    assert {item.partition for item in balances} == set(range(find("venue.balances").partitions))
    latest = max((item.record for item in balances), key=lambda record: record["fetched_at"])
    assert {"USDT", "BTC"} <= latest["total"].keys()
    assert D("990000") < latest["total"]["USDT"] < D("1010000")
    assert D("9.9") < latest["total"]["BTC"] < D("10.1")
    assert all(latest["free"][asset] <= latest["total"][asset] for asset in latest["total"])


def test_when_the_engines_heartbeat_stops_what_rests_at_the_venue_is_cancelled(gateway):
    resting = child(4, order_type="limit", price="50000.00")
    publish(find("slices"), [resting.model_dump()])
    executions({"o-gw-4"}, wanted=1)  # acknowledged, resting
    time.sleep(HEARTBEAT_TIMEOUT + 1)  # while the engine beats, the order stays
    still = executions({"o-gw-4"}, wanted=1)
    assert len(still) == 1 and "cancelled" not in {r["status"] for r in still.values()}
    gateway.engine.beating.clear()
    try:
        reports = executions({"o-gw-4"}, wanted=2, timeout=HEARTBEAT_TIMEOUT + 20)
        assert [r["status"] for r in reports.values()][-1] == "cancelled"
        log = (gateway.log_dir / "gateway.log").read_text()
        assert "heartbeat stale: cancelling every open order at binance" in log
    finally:
        gateway.engine.beating.set()
    gateway.check_alive()
    beats = [
        item.record
        for item in consume(find("metrics"), from_beginning=True, end=end_offsets(find("metrics")))
        if item.record and item.record["processor"] == "gateway"
    ]
    assert any(m["name"] == "heartbeat" for m in beats)  # the gateway's own, as every processor's


def test_an_undecodable_slice_goes_to_deadletter_and_the_next_one_fills(gateway):
    producer = make_producer()
    producer.produce(find("slices").full_name, key=b"BTC/USDT", value=b"not a slice")
    producer.flush(10)
    publish(find("slices"), [child(5).model_dump()])
    reports = executions({"o-gw-5"}, wanted=2)
    assert [r["status"] for r in reports.values()][-1] == "filled"
    dead = [
        item.record
        for item in consume(
            find("deadletter"), from_beginning=True, end=end_offsets(find("deadletter"))
        )
        if item.record and item.record["processor"] == "gateway"
    ]
    assert [d["value"] for d in dead] == [b"not a slice"]
    assert dead[0]["error_type"] == "UndecodableRecord"
    gateway.check_alive()


def test_a_slice_the_journal_has_finished_is_not_sent_again(gateway):
    """A slice taken again (at least once, after a crash) finds its journal finished."""
    before = executions({"o-gw-1"}, wanted=2)
    publish(find("slices"), [child(1).model_dump(), child(6).model_dump()])
    executions({"o-gw-6"}, wanted=2)  # taken after the repeat: the repeat is behind us
    assert executions({"o-gw-1"}, wanted=2) == before
    validated = [
        item.record
        for item in consume(find("gateway.journal"), from_beginning=True, idle_timeout=2)
        if item.record
        and item.record["slice"]["slice_id"] == "o-gw-1-1"
        and item.record["step"] == "VALIDATED"
    ]
    assert len(validated) == 1
    gateway.check_alive()
