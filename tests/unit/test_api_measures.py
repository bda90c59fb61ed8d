"""Execution figures, health, venue adapters and the Prometheus families (pure)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from fillstream.api.cluster import GroupLag, lag
from fillstream.api.exposition import PipelineCollector, families
from fillstream.api.measures import execution_metrics
from fillstream.api.status import adapters, health
from fillstream.api.view import EngineView, apply
from fillstream.config import DEFAULT_CONFIG, load_config
from fillstream.schemas.models import Metric
from tests.unit.test_api_view import T0, order, report

SECOND = 1_000_000


def _view() -> EngineView:
    view = EngineView()
    # o-1: acked after 2 ms, filled after 5 ms and 9 ms; o-2 acked after 4 ms, cancelled;
    # o-3 rejected; o-old outside the window.
    for record in (
        order("o-1", T0, status="filled"),
        order("o-2", T0 + SECOND, status="cancelled"),
        order("o-3", T0 + 2 * SECOND, status="rejected"),
        order("o-4", T0 + 3 * SECOND, status="accepted"),
        order("o-old", T0 - 100 * SECOND, status="filled"),
    ):
        apply(view, "orders.state", record)
    fill = {"exec_type": "partial_fill", "last_quantity": Decimal("0.5")}
    for record in (
        report("r1", "o-1", "o-1-0", T0 + 2_000),
        report("r2", "o-1", "o-1-0", T0 + 5_000, **fill),
        report("r3", "o-1", "o-1-0", T0 + 9_000, **fill),
        report("r4", "o-2", "o-2-0", T0 + SECOND + 4_000),
    ):
        apply(view, "fills", record)
    return view


def test_latency_rates_and_outcomes_over_the_window():
    view = _view()
    figures = execution_metrics(
        view.orders.values(), view.executions, T0 + 10 * SECOND, 20 * SECOND
    )
    assert figures["orders"] == 4 and figures["orders_per_second"] == 4 / 20
    assert figures["fills"] == 2 and figures["fills_per_second"] == 2 / 20
    # Nearest rank over [2, 4] ms: p50 is the first, p90 and p99 the second.
    assert figures["latency_ms"]["signal_to_ack"] == {
        "count": 2,
        "p50": 2.0,
        "p90": 4.0,
        "p99": 4.0,
    }
    assert figures["latency_ms"]["signal_to_first_fill"] == {
        "count": 1,
        "p50": 5.0,
        "p90": 5.0,
        "p99": 5.0,
    }
    assert figures["statuses"] == {"accepted": 1, "cancelled": 1, "filled": 1, "rejected": 1}
    # Three finished orders: one each filled, cancelled, rejected.
    assert figures["finished_orders"] == 3
    assert figures["rates"] == {"fill": 1 / 3, "reject": 1 / 3, "cancel": 1 / 3, "expire": 0.0}


def test_an_empty_window_has_no_latency_and_no_rates():
    figures = execution_metrics([], {}, T0, SECOND)
    assert figures["latency_ms"]["signal_to_ack"]["p99"] is None
    assert figures["rates"]["fill"] is None and figures["orders"] == 0


def _metric(processor: str, name: str, value: float, kind: str = "gauge", **labels) -> Metric:
    return Metric(
        processor=processor, name=name, kind=kind, value=value, labels=labels, timestamp=T0
    )


def _series(*metrics: Metric) -> dict:
    view = EngineView()
    for metric in metrics:
        apply(view, "metrics", metric.model_dump())
    return view.series


def test_a_processor_is_healthy_while_its_newest_heartbeat_is_under_five_seconds_old():
    series = _series(
        _metric("risk", "heartbeat", 1000.0, worker="a:1"),
        _metric("risk", "heartbeat", 996.0, worker="b:2"),
        _metric("oms", "heartbeat", 994.5, worker="a:3"),
    )
    lags = {"risk": GroupLag(3, {"signals": 3}, 3), "oms": "timed out"}
    report_ = health(1001.0, True, ["risk", "oms", "tca"], series, lags)
    risk, oms, tca = (report_["processors"][p] for p in ("risk", "oms", "tca"))
    assert (risk["healthy"], risk["heartbeat_age_seconds"], risk["workers"]) == (
        True,
        1.0,
        ["a:1", "b:2"],
    )
    assert risk["consumer_lag"] == {"total": 3, "by_topic": {"signals": 3}, "partitions": 3}
    assert (oms["healthy"], oms["heartbeat_age_seconds"], oms["consumer_lag_error"]) == (
        False,
        6.5,
        "timed out",
    )
    assert tca["healthy"] is False and tca["heartbeat_age_seconds"] is None
    assert report_["healthy"] is False


def test_lag_is_what_each_topic_holds_beyond_the_groups_commits():
    committed = {("signals", 0): 5, ("signals", 1): 9, ("fills", 0): 4}
    ends = {("signals", 0): 7, ("signals", 1): 9, ("fills", 0): 10}
    assert lag(committed, ends) == GroupLag(8, {"fills": 6, "signals": 2}, 3)


def test_simulated_and_ccxt_venues_with_the_breakers_state(tmp_path: Path):
    config = tmp_path / "engine.toml"
    config.write_text(
        DEFAULT_CONFIG.read_text()
        + '\n[gateway.venues.binance]\nexchange = "binance"\nsymbols = ["BTC/USDT"]\n'
        'api_key_env = "K"\nsecret_env = "S"\n'
    )
    engine = load_config(config)
    series = _series(
        _metric("gateway", "gateway_breaker_state", 2, venue="binance", worker="g:1"),
        _metric("gateway", "gateway_calls_total", 40, "counter", venue="binance", worker="g:1"),
        _metric("gateway", "gateway_errors_total", 3, "counter", venue="binance", reason="TIMEOUT"),
    )
    by_venue = {entry["venue"]: entry for entry in adapters(engine, series)}
    assert by_venue["nyse"]["adapter"] == "simulated" and by_venue["nyse"]["symbols"] == ["IBM"]
    binance = by_venue["binance"]
    assert (binance["adapter"], binance["breaker"], binance["status"]) == ("ccxt", "open", "down")
    assert binance["figures"]["calls_total"] == 40
    assert binance["figures"]["errors_total"] == {"TIMEOUT": 3}


def test_pipeline_series_are_exposed_with_their_labels_and_kinds():
    series = [
        _metric("risk", "records_in_total", 12, "counter", topic="signals", worker="h:1"),
        _metric("risk", "consumer_lag", 2, topic="signals", partition="0"),
        _metric("oms", "hop_latency_seconds_bucket", 4, "histogram", topic="fills", le="0.005"),
        _metric("oms", "hop_latency_seconds_bucket", 5, "histogram", topic="fills", le="+Inf"),
        _metric("oms", "hop_latency_seconds_sum", 0.02, "histogram", topic="fills"),
        _metric("oms", "hop_latency_seconds_count", 5, "histogram", topic="fills"),
    ]
    kinds = {family.name: family.type for family in families(series)}
    assert kinds == {
        "fillstream_records_in": "counter",
        "fillstream_consumer_lag": "gauge",
        "fillstream_hop_latency_seconds": "histogram",
    }
    registry = CollectorRegistry()
    registry.register(PipelineCollector(lambda: series))
    text = generate_latest(registry).decode()
    assert 'fillstream_records_in_total{processor="risk",topic="signals",worker="h:1"} 12.0' in text
    assert (
        'fillstream_hop_latency_seconds_bucket{le="+Inf",processor="oms",topic="fills"} 5.0' in text
    )
    assert "# TYPE fillstream_hop_latency_seconds histogram" in text
