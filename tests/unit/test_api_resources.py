"""The API's worker listing, scaling requests, order plans and 24-hour market figures, over
an in-memory view (no Kafka)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.api.resources import processor_usage, workers
from fillstream.api.view import EngineView, apply
from tests.unit.test_api_app import ADMIN, MARKET, READ, TRADE, Sent, _client, key
from tests.unit.test_api_view import T0
from tests.unit.test_trade_window import HOUR, MINUTE, trade

NOW_S = T0 / 1e6


def metric(processor, name, value, worker, at_s=NOW_S, **labels):
    return {
        "processor": processor,
        "name": name,
        "kind": "gauge",
        "value": value,
        "labels": {**labels, "worker": worker},
        "timestamp": int(at_s * 1e6),
    }


def worker_figures(view, processor, worker, *, beat_s, cpu, memory, held, lags):
    apply(view, "metrics", metric(processor, "heartbeat", beat_s, worker))
    apply(view, "metrics", metric(processor, "process_cpu_percent", cpu, worker))
    apply(view, "metrics", metric(processor, "process_resident_memory_bytes", memory, worker))
    for partition in range(3):
        held_now = float(partition in held)
        apply(
            view,
            "metrics",
            metric(processor, "partition_assigned", held_now, worker, partition=str(partition)),
        )
        for topic, lag in lags.items():
            apply(
                view,
                "metrics",
                metric(
                    processor,
                    "consumer_lag",
                    lag[partition],
                    worker,
                    topic=topic,
                    partition=str(partition),
                ),
            )


@pytest.fixture
def desk_view():
    """Two live desk workers sharing three partitions, and one whose heartbeat stopped."""
    view = EngineView()
    lags = {"orders.approved": [5, 7, 1], "fills": [0, 2, 0]}
    worker_figures(
        view, "desk", "h:11", beat_s=NOW_S - 1, cpu=12.5, memory=100e6, held={0, 2}, lags=lags
    )
    worker_figures(view, "desk", "h:12", beat_s=NOW_S, cpu=30.0, memory=50e6, held={1}, lags=lags)
    worker_figures(view, "desk", "h:9", beat_s=NOW_S - 60, cpu=99, memory=1e9, held={1}, lags=lags)
    return view


def test_live_workers_with_their_partitions_lag_cpu_and_memory(desk_view):
    listing = workers(NOW_S, ["desk", "risk"], desk_view.series)
    assert listing["risk"] == []
    first, second = listing["desk"]  # h:9 stopped beating a minute ago: not listed
    assert first == {
        "worker": "h:11",
        "host": "h",
        "pid": 11,
        "partitions": [0, 2],
        "lag": 5 + 1 + 0 + 0,  # its partitions' lag, over both inputs
        "cpu_percent": 12.5,
        "resident_memory_bytes": 100_000_000,
        "heartbeat_age_seconds": 1.0,
    }
    assert (second["pid"], second["partitions"], second["lag"]) == (12, [1], 7 + 2)
    usage = processor_usage(NOW_S, ["desk"], desk_view.series)
    assert usage == {
        "desk": {"workers": 2, "cpu_percent": 42.5, "resident_memory_bytes": 150_000_000}
    }


def test_a_worker_not_yet_in_its_group_has_unknown_partitions_and_lag():
    view = EngineView()
    apply(view, "metrics", metric("risk", "heartbeat", NOW_S, "h:5"))
    (entry,) = workers(NOW_S, ["risk"], view.series)["risk"]
    assert (entry["partitions"], entry["lag"], entry["cpu_percent"]) == (None, None, None)


def test_the_resources_and_metrics_routes_serve_the_listing(desk_view):
    client = _client(Sent(), desk_view, processors=("desk",))
    data = client.get("/api/v1/execution/resources", headers=key(READ)).json()["data"]
    (desk,) = data["processors"]
    assert desk["processor"] == "desk"
    assert [(w["pid"], w["partitions"]) for w in desk["workers"]] == [(11, [0, 2]), (12, [1])]
    summary = client.get("/api/v1/execution/metrics", headers=key(READ)).json()["data"]
    assert summary["processors"]["desk"]["cpu_percent"] == 42.5
    assert summary["orders"] == 0  # the order figures are still there


def test_allocate_asks_the_supervisor_and_needs_an_admin_key():
    asked = []

    def allocate(processor, count):
        if count > 3:
            raise ValueError("workers must be from 1 to 3")
        asked.append((processor, count))
        return 1

    client = _client(Sent(), EngineView(), allocate=allocate)
    body = {"processor": "desk", "workers": 2}
    url = "/api/v1/execution/resources/allocate"
    assert client.post(url, json=body, headers=key(TRADE)).status_code == 403
    answer = client.post(url, json=body, headers=key(ADMIN))
    assert answer.status_code == 202
    assert answer.json()["data"] == {"processor": "desk", "workers": 2, "running": 1}
    assert asked == [("desk", 2)]
    refused = client.post(url, json={"processor": "desk", "workers": 9}, headers=key(ADMIN))
    assert refused.status_code == 422 and "from 1 to 3" in refused.json()["error"]["message"]
    assert client.post(url, json={**body, "workers": 0}, headers=key(ADMIN)).status_code == 422


def test_allocate_without_a_supervisor_is_a_conflict():
    def nobody(processor, count):
        raise LookupError("no supervisor of `fillstream up` runs here")

    for allocate in (None, nobody):
        client = _client(Sent(), EngineView(), allocate=allocate)
        answer = client.post(
            "/api/v1/execution/resources/allocate",
            json={"processor": "desk", "workers": 2},
            headers=key(ADMIN),
        )
        assert answer.status_code == 409


def test_an_order_is_answered_with_its_twap_plan():
    client = _client(Sent(), EngineView())
    twap = {
        **MARKET,
        "created_at": T0,
        "algorithm": "twap",
        "algorithm_parameters": {"duration_seconds": "240", "interval_seconds": "10"},
    }
    data = client.post("/api/v1/orders", json=twap, headers=key(TRADE)).json()["data"]
    # 240 s in slices 10 s apart: 24 slices at 0, 10, ..., 230 s; the last is due at T0 + 230 s.
    assert (data["algorithm"], data["planned_slices"]) == ("twap", 24)
    assert data["estimated_completion_at"] == T0 + 230_000_000
    assert data["plan_note"] is None
    direct = client.post("/api/v1/orders", json={**MARKET, "created_at": T0}, headers=key(TRADE))
    plan = direct.json()["data"]
    assert (plan["algorithm"], plan["planned_slices"], plan["estimated_completion_at"]) == (
        "direct",
        1,
        T0,
    )


def test_a_pov_order_is_paced_by_the_trades_of_the_minutes_the_api_has_seen():
    view = EngineView()
    client = _client(Sent(), view)
    pov = {
        **MARKET,
        "quantity": "1",
        "created_at": T0,
        "algorithm": "pov",
        "algorithm_parameters": {"participation_rate": "0.5", "min_slice": "0.25"},
    }
    unpaced = client.post("/api/v1/orders", json=pov, headers=key(TRADE)).json()["data"]
    assert unpaced["planned_slices"] is None and "volume rate" in unpaced["plan_note"]
    # 6 traded in the one minute seen is 0.1 a second (not 6 over a whole day); at 50%
    # participation we trade 0.1 a second too, so four slices of 0.25 go out 2.5 s apart: the
    # last at 7.5 s.
    apply(view, "market.trades", trade("t", T0, "60000", "6").model_dump())
    paced = client.post("/api/v1/orders", json=pov, headers=key(TRADE)).json()["data"]
    assert paced["planned_slices"] == 4
    assert paced["estimated_completion_at"] == T0 + 7_500_000


def test_market_data_adds_the_last_trade_and_24h_figures():
    view = EngineView()
    client = _client(Sent(), view)
    for trade_id, at, price, quantity in (
        ("a", T0 - 25 * HOUR, "58000", "4"),
        ("b", T0 - 2 * HOUR, "61500", "0.5"),
        ("c", T0 - MINUTE, "60500", "1.5"),
    ):
        apply(view, "market.trades", trade(trade_id, at, price, quantity).model_dump())
    data = client.get("/api/v1/market-data/BTC/USDT", headers=key(READ)).json()["data"]
    assert data["venues"] == {}
    trades = data["trades"]
    assert (trades["last_price"], trades["volume_24h"]) == ("60500", "2.0")
    assert (trades["high_24h"], trades["low_24h"], trades["trades_24h"]) == ("61500", "60500", 2)
    assert Decimal(trades["last_quantity"]) == Decimal("1.5")
