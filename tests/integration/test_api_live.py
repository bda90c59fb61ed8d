"""The REST API over a real HTTP server, against the live pipeline on the broker.

uvicorn on 127.0.0.1 (a free port) serves the app that `fillstream api` serves, its view
following the pipeline's topics. An order goes in through the API and comes back as status,
executions and TCA; a resting order is cancelled through the API; refused requests (no key,
a key without the scope, an invalid payload) leave `signals` and `commands` untouched, as
reading those topics shows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from fillstream.api.app import create_app
from fillstream.api.server import api_settings, build
from fillstream.cli import app
from fillstream.connectors.feeds.events import MarketEvent
from fillstream.infra.topic_io import consume, end_offsets, start_offsets
from fillstream.pipeline import feed, tick
from fillstream.schemas.models import Quote, Trade
from fillstream.schemas.topics import find
from tests.integration.live import running_pipeline

pytestmark = pytest.mark.integration

READ, TRADE = "live-read-key-000001", "live-trade-key-00001"
KEYS = f"{READ}:read,{TRADE}:trade"
SECOND = 1_000_000


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` on uvicorn at 127.0.0.1 on a free port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def live_api(kafka_bootstrap: str, tmp_path_factory: Any, name: str) -> Iterator[Any]:
    """The pipeline running on fresh topics, and the API serving it: (pipeline, watcher, url)."""
    with (
        pytest.MonkeyPatch.context() as env,
        running_pipeline(kafka_bootstrap, tmp_path_factory, name) as (pipeline, watcher),
    ):
        pipeline.start_one("scheduler")  # as `fillstream up` runs it: the API serves its tasks
        env.setenv("FILLSTREAM_API_KEYS", KEYS)
        env.setenv("FILLSTREAM_API_RATE_LIMIT", "1000")
        services, follower = build(api_settings())
        follower.start()
        try:
            with serving(create_app(services)) as url:
                yield pipeline, watcher, url
        finally:
            follower.stop()
            services.cluster.close()


def wait_for(
    what: str, fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 60
) -> Any:
    """Fetch until `done` says so; the last answer is in the failure's message."""
    deadline = time.monotonic() + timeout
    while True:
        found = fetch()
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s; last answer: {found}")
        time.sleep(0.2)


def market(now_us: int) -> list[MarketEvent]:
    """BTC/USDT at binance: 61,000 bid, 61,000.50 ask, two coins each side, a trade between."""
    quote = Quote(
        symbol="BTC/USDT",
        venue="binance",
        bid_price=Decimal("61000"),
        bid_size=Decimal("2"),
        ask_price=Decimal("61000.50"),
        ask_size=Decimal("2"),
        timestamp=now_us,
    )
    trade = Trade(
        symbol="BTC/USDT",
        venue="binance",
        trade_id="t-1",
        price=Decimal("61000.25"),
        quantity=Decimal("0.01"),
        timestamp=now_us + 1,
    )
    return [MarketEvent.of(quote), MarketEvent.of(trade)]


ORDER = {
    "strategy_id": "api-test",
    "account_id": "acct-api",
    "symbol": "BTC/USDT",
    "side": "buy",
    "order_type": "market",
}


@pytest.fixture(scope="module")
def api(kafka_bootstrap, tmp_path_factory):
    with live_api(kafka_bootstrap, tmp_path_factory, "api") as (pipeline, watcher, url):
        feed(market(now()), [], watcher=None)
        watcher.settle(timeout=60, pipeline=pipeline)
        with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as client:
            yield client


def now() -> int:
    return time.time_ns() // 1000


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_submit_then_status_fills_and_tca(api):
    client = api
    answer = client.post(
        "/orders", json={**ORDER, "signal_id": "api-buy", "quantity": "0.1"}, headers=headers(TRADE)
    )
    assert answer.status_code == 202, answer.text
    order_id = answer.json()["data"]["order_id"]
    assert order_id == "o-api-buy"

    def status() -> dict[str, Any]:
        tick(now() + SECOND)  # the simulated venue's latency passes on the clock
        return client.get(f"/orders/{order_id}", headers=headers(READ)).json()

    filled = wait_for("fill", status, lambda a: (a["data"] or {}).get("status") == "filled")
    filled = filled["data"]
    assert filled["order"]["filled_quantity"] == "0.1"
    assert Decimal(filled["order"]["average_price"]) == Decimal("61000.50")  # the ask, whole
    (slice_id,) = filled["slices"]
    executions = client.get(f"/transactions/{slice_id}", headers=headers(READ)).json()["data"]
    fills = [e for e in executions["executions"] if Decimal(e["last_quantity"]) > 0]
    assert [(Decimal(e["last_quantity"]), Decimal(e["last_price"])) for e in fills] == [
        (Decimal("0.1"), Decimal("61000.50"))
    ]
    assert executions["order_id"] == order_id and executions["venue"] == "binance"

    def tca() -> dict[str, Any]:
        tick(now() + 120 * SECOND)  # past the longest markout (60 s): TCA publishes
        return client.get(f"/tca/{order_id}", headers=headers(READ)).json()

    result = wait_for("TCA", tca, lambda a: a["success"])["data"]
    assert (result["order_id"], result["filled_quantity"]) == (order_id, "0.1")
    assert Decimal(result["average_price"]) == Decimal("61000.50")
    assert result["fill_ratio"] == 1.0

    metrics = client.get("/execution/metrics?window=3600", headers=headers(READ)).json()["data"]
    assert metrics["statuses"].get("filled", 0) >= 1
    assert metrics["latency_ms"]["signal_to_ack"]["count"] >= 1
    book = client.get("/market-data/BTC/USDT", headers=headers(READ)).json()["data"]
    assert Decimal(book["venues"]["binance"]["quote"]["ask_price"]) == Decimal("61000.50")


def test_cancel_a_resting_order(api):
    client = api
    resting = {
        **ORDER,
        "signal_id": "api-rest",
        "quantity": "0.2",
        "order_type": "limit",
        "price": "60500",  # below the ask: rests at the venue
        # After the first test's clock ticks (event time only moves forward at the venue).
        "created_at": now() + 300 * SECOND,
    }
    answer = client.post("/orders", json=resting, headers=headers(TRADE))
    assert answer.status_code == 202, answer.text
    created = resting["created_at"]

    def status(at_us: int) -> Callable[[], dict[str, Any]]:
        def fetch() -> dict[str, Any]:
            tick(at_us)
            return client.get("/orders/o-api-rest", headers=headers(READ)).json()

        return fetch

    def is_(status: str) -> Callable[[dict[str, Any]], bool]:
        return lambda answer: (answer["data"] or {}).get("status") == status

    wait_for("acknowledgement", status(created + 2 * SECOND), is_("accepted"))
    order = "/orders/o-api-rest"
    toward_the_market = client.put(order, json={"price": "60600"}, headers=headers(TRADE))
    assert toward_the_market.status_code == 409, toward_the_market.text
    assert (
        "may not move a buy limit toward the market" in toward_the_market.json()["error"]["message"]
    )
    lower = {"quantity": "0.1", "price": "60400", "reason": "test"}
    answer = client.put(order, json=lower, headers=headers(TRADE))
    assert answer.status_code == 202, answer.text

    def is_modified(answer: dict[str, Any]) -> bool:
        order = answer["data"]["order"] or {}
        return (order.get("quantity"), order.get("price")) == ("0.1", "60400")

    modified = wait_for("modification", status(created + 2 * SECOND + 1), is_modified)
    assert modified["data"]["order"]["leaves_quantity"] == "0.1"
    wait_for(
        "the executor's replace",
        lambda: [
            (s["action"], s["quantity"], s["price"])
            for s in _records("slices")
            if s["order_id"] == "o-api-rest"
        ],
        lambda sent: sent[-1] == ("replace", Decimal("0.1"), Decimal("60400")),
    )
    answer = client.delete("/orders/o-api-rest?reason=test", headers=headers(TRADE))
    assert answer.status_code == 202, answer.text
    assert answer.json()["data"]["command"]["symbol"] == "BTC/USDT"

    answer = wait_for("cancellation", status(created + 3 * SECOND), is_("cancelled"))
    final = answer["data"]["order"]
    assert Decimal(final["filled_quantity"]) == Decimal(final["leaves_quantity"]) == 0


def _records(topic: str) -> list[dict[str, Any]]:
    spec = find(topic)
    return [
        item.record
        for item in consume(spec, start=start_offsets(spec), end=end_offsets(spec))
        if item.record is not None
    ]


def test_refused_requests_publish_nothing(api):
    client = api
    signals_before, commands_before = end_offsets(find("signals")), end_offsets(find("commands"))
    bad = {**ORDER, "quantity": "0.1"}
    refused = [
        client.post("/orders", json={**bad, "signal_id": "api-401"}),
        client.post("/orders", json={**bad, "signal_id": "api-401b"}, headers=headers("x" * 20)),
        client.post("/orders", json={**bad, "signal_id": "api-403"}, headers=headers(READ)),
        client.post(
            "/orders",
            json={**bad, "signal_id": "api-422", "quantity": "-1"},
            headers=headers(TRADE),
        ),
        client.post(
            "/execute",
            json={**bad, "signal_id": "api-422b", "algorithm": "twap"},
            headers=headers(TRADE),
        ),
        client.delete("/orders/o-api-buy"),
        client.delete("/orders/o-api-buy", headers=headers(READ)),
        client.put("/orders/o-api-rest", json={"price": "-5"}, headers=headers(TRADE)),
    ]
    assert [r.status_code for r in refused] == [401, 401, 403, 422, 422, 401, 403, 422]
    assert all(r.json()["success"] is False for r in refused)
    assert end_offsets(find("signals")) == signals_before
    assert end_offsets(find("commands")) == commands_before
    # And the topics hold exactly what the accepted requests published.
    assert sorted(s["signal_id"] for s in _records("signals")) == ["api-buy", "api-rest"]
    assert [
        (c["kind"], c["order_id"]) for c in _records("commands") if c["issued_by"] == "api"
    ] == [("modify", "o-api-rest"), ("cancel", "o-api-rest")]


def test_health_names_every_processor_with_its_groups_lag(api):
    client = api
    started = time.monotonic()
    answer = client.get("/health", headers=headers(READ))
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and elapsed < 5, elapsed
    data = answer.json()["data"]
    assert data["broker"]["reachable"] is True
    assert set(data["processors"]) == {"scheduler", "risk", "desk"}
    # Every processor has read and committed by now, so each group has committed offsets.
    for processor, figures in data["processors"].items():
        assert figures["consumer_lag"]["partitions"] > 0, processor


def test_the_cli_sees_and_commands_the_same_pipeline(api, tmp_path):
    status = CliRunner().invoke(app, ["orders", "status", "o-api-buy"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["status"] == "filled"
    refused = CliRunner().invoke(app, ["orders", "cancel", "o-api-buy"])
    assert refused.exit_code == 1 and "already filled" in refused.output
    refused = CliRunner().invoke(app, ["orders", "modify", "o-api-buy", "--quantity", "0.05"])
    assert refused.exit_code == 1 and "already filled" in refused.output
    inspected = CliRunner().invoke(app, ["topics", "inspect", "signals", "--last", "1"])
    assert inspected.exit_code == 0, inspected.output
    assert "fillstream-risk" in inspected.output  # the risk processor's group reads signals
    source = tmp_path / "signals.csv"
    source.write_text(
        "signal_id,strategy_id,account_id,symbol,side,quantity,order_type\n"
        "cli-1,cli,acct-cli,BTC/USDT,sell,0.01,market\n"
        "cli-2,cli,acct-cli,BTC/USDT,sell,-1,market\n"
    )
    published = CliRunner().invoke(app, ["signals", "publish", str(source)])
    assert published.exit_code == 1  # one invalid line
    assert "1 signals published, 1 invalid lines" in published.output
    assert "line 3: quantity" in published.output
    paused = CliRunner().invoke(app, ["accounts", "pause", "acct-cli"])
    assert paused.exit_code == 0, paused.output
    assert "cli-1" in [s["signal_id"] for s in _records("signals")]
    assert [(c["kind"], c["account_id"]) for c in _records("commands") if c["issued_by"] == "cli"]
    # An account command goes to every partition of `commands` (risk and every executor).
    pauses = [c for c in _records("commands") if c["kind"] == "pause"]
    assert len(pauses) == 3 and {c["account_id"] for c in pauses} == {"acct-cli"}
