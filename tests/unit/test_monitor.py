"""The risk monitor's core: windows, quantiles, resets and alert transitions, by hand."""

from __future__ import annotations

import math

import pytest

from fillstream.schemas.models import Metric, TcaResult
from fillstream.streams.monitor import (
    MonitorConfig,
    MonitorState,
    Rule,
    Severity,
    evaluate,
    forget,
    histogram_quantile,
    observe_metric,
    observe_tca,
    transition,
)

T0 = 1_723_161_256_000_000
S = 1_000_000
CONFIG = MonitorConfig(
    window_us=60 * S,
    max_rejection_rate=0.10,
    min_signals=20,
    latency_quantile=0.99,
    max_latency_ms=50,
    min_latency_samples=20,
    max_shortfall_bps=30,
    min_orders=2,
    heartbeat_timeout_us=10 * S,
)


def metric(
    name: str,
    value: float,
    at_us: int,
    *,
    processor: str = "risk",
    kind: str = "counter",
    worker: str = "host:1",
    **labels: str,
) -> Metric:
    return Metric(
        processor=processor,
        name=name,
        kind=kind,
        value=value,
        labels={**labels, "worker": worker},
        timestamp=at_us,
    )


def feed(state: MonitorState, *metrics: Metric) -> MonitorState:
    for record in metrics:
        observe_metric(state, record)
    return state


def risk_figures(at_us: int, signals: float, worker: str = "host:1", **rejections: float):
    """A risk worker's publication (with its heartbeat): signals taken, rejections by reason."""
    return [
        metric("heartbeat", at_us / S, at_us, kind="gauge", worker=worker),
        metric("records_in_total", signals, at_us, worker=worker, topic="signals"),
        metric("records_in_total", signals * 10, at_us, worker=worker, topic="fills.accounts"),
        *(
            metric("rejections_total", count, at_us, worker=worker, reason=reason)
            for reason, count in rejections.items()
        ),
    ]


def started(*workers: str, processor: str = "risk") -> MonitorState:
    """Watching since T0, when these workers' heartbeats were seen."""
    return feed(
        MonitorState(),
        *(
            metric("heartbeat", T0 / S, T0, processor=processor, kind="gauge", worker=worker)
            for worker in workers
        ),
    )


# -- rejection rate ------------------------------------------------------------------------


def test_3_rejections_of_20_signals_fire_over_10_percent_then_resolve_once():
    state = started("host:1")
    # the worker's first publication is a baseline: counted before the monitor watched
    feed(state, *risk_figures(T0 + 1 * S, 100, MAX_ORDER_QUANTITY=4))
    # +20 signals; +2 of one reason, and a reason's first rejection (its series new: from 0)
    feed(state, *risk_figures(T0 + 11 * S, 120, MAX_ORDER_QUANTITY=6, PRICE_COLLAR=1))

    alerts = evaluate(state, T0 + 12 * S, CONFIG)
    assert [(a.rule, a.value, a.threshold) for a in alerts] == [
        (Rule.REJECTION_RATE, pytest.approx(3 / 20), 0.10)
    ]
    assert alerts[0].severity is Severity.WARNING
    assert alerts[0].message == (
        "risk rejected 15.0% of 20 signals in the last 60 s (threshold 10.0%)"
    )
    changes = transition({}, alerts)
    assert changes.fired == tuple(alerts)
    assert changes.resolved == ()

    again = transition(changes.firing, evaluate(state, T0 + 13 * S, CONFIG))
    assert again.fired == again.resolved == ()  # still holding: nothing new said

    # 100 more signals, no more rejections: 3 of 120 since the baseline is 2.5%
    feed(state, *risk_figures(T0 + 21 * S, 220, MAX_ORDER_QUANTITY=6, PRICE_COLLAR=1))
    resolved = transition(again.firing, evaluate(state, T0 + 22 * S, CONFIG))
    assert resolved.resolved == tuple(alerts)
    assert resolved.fired == ()
    assert resolved.firing == {}


def test_one_rejection_of_one_signal_is_too_small_a_sample():
    state = started("host:1")
    feed(state, *risk_figures(T0 + 1 * S, 0, MAX_ORDER_QUANTITY=0))
    feed(state, *risk_figures(T0 + 11 * S, 1, MAX_ORDER_QUANTITY=1))
    assert evaluate(state, T0 + 12 * S, CONFIG) == []


def test_several_workers_a_restart_and_a_new_worker_are_summed():
    state = started("host:1", "host:2")
    feed(state, *risk_figures(T0 + 1 * S, 100, "host:1", LIMIT=0))
    feed(state, *risk_figures(T0 + 1 * S, 200, "host:2", LIMIT=10))
    # host:1 takes 10 signals and rejects 1
    feed(state, *risk_figures(T0 + 11 * S, 110, "host:1", LIMIT=1))
    # host:2 restarted under the same label: its counters fell, so they count from zero
    feed(state, *risk_figures(T0 + 11 * S, 5, "host:2", LIMIT=2))
    # host:3 appears 30 s after the monitor began: a new worker, its first figures are all new
    feed(state, metric("heartbeat", 0, T0 + 30 * S, kind="gauge", worker="host:3"))
    feed(state, *risk_figures(T0 + 31 * S, 7, "host:3", LIMIT=1))

    (alert,) = evaluate(state, T0 + 32 * S, CONFIG)
    # signals 10 + 5 + 7 = 22, rejections 1 + 2 + 1 = 4
    assert alert.value == pytest.approx(4 / 22)
    assert "18.2% of 22 signals" in alert.message


def test_the_window_slides_from_the_last_sample_before_its_start():
    state = started("host:1")
    feed(state, *risk_figures(T0 + 1 * S, 100, LIMIT=0))
    feed(state, *risk_figures(T0 + 11 * S, 120, LIMIT=5))
    feed(state, *risk_figures(T0 + 21 * S, 140, LIMIT=5))
    assert len(evaluate(state, T0 + 22 * S, CONFIG)) == 1  # 5 of 40
    # at T0+75 s the window starts at T0+15 s: measured from the T0+11 s sample, 20 signals
    # and no rejection
    feed(state, *risk_figures(T0 + 71 * S, 140, LIMIT=5))
    assert evaluate(state, T0 + 75 * S, CONFIG) == []
    # at T0+65 s it started at T0+5 s: from the T0+1 s sample, 5 of 40 still
    (alert,) = evaluate(state, T0 + 65 * S, CONFIG)
    assert alert.value == pytest.approx(0.125)
    # forgetting what a window at T0+75 s cannot need keeps its baseline
    forget(state, T0 + 75 * S, CONFIG)
    series = state.series["risk", "records_in_total"]
    signals = next(s for labels, s in series.items() if ("topic", "signals") in labels)
    assert [value for _, value in signals.samples] == [120, 140, 140]
    feed(state, *risk_figures(T0 + 81 * S, 160, LIMIT=8))
    (alert,) = evaluate(state, T0 + 82 * S, CONFIG)  # from the T0+21 s sample: 3 of 20
    assert alert.value == pytest.approx(0.15)


# -- latency -------------------------------------------------------------------------------

BOUNDS = ("0.01", "0.05", "0.1", "+Inf")


def buckets(at_us: int, worker: str, topic: str, counts: tuple[int, ...]) -> list[Metric]:
    """An executor worker's hop latency histogram of one input topic, and its heartbeat."""
    return [
        metric("heartbeat", at_us / S, at_us, processor="executor", kind="gauge", worker=worker),
        *(
            metric(
                "hop_latency_seconds_bucket",
                count,
                at_us,
                processor="executor",
                kind="histogram",
                worker=worker,
                topic=topic,
                le=le,
            )
            for le, count in zip(BOUNDS, counts, strict=True)
        ),
    ]


def test_histogram_quantile_interpolates_within_the_bucket_by_hand():
    cumulative = {0.01: 50, 0.05: 90, 0.1: 98, math.inf: 100}
    # rank 95 lies in (0.05, 0.1], which holds ranks 91..98: 0.05 + 0.05 × (95 − 90) / 8
    assert histogram_quantile(0.95, cumulative) == pytest.approx(0.08125)
    assert histogram_quantile(0.5, cumulative) == pytest.approx(0.01)  # 0 + 0.01 × 50/50
    assert histogram_quantile(0.25, cumulative) == pytest.approx(0.005)
    # rank 99 is in the +Inf bucket: the largest finite bound, as Prometheus answers
    assert histogram_quantile(0.99, cumulative) == pytest.approx(0.1)
    assert histogram_quantile(0.99, {0.01: 5, 0.05: 9}) is None  # no +Inf bucket
    assert histogram_quantile(0.99, {0.01: 0, math.inf: 0}) is None  # nothing observed


def test_latency_is_the_quantile_of_bucket_increases_over_workers_and_topics():
    state = started("host:1", "host:2", processor="executor")
    feed(state, *buckets(T0 + 1 * S, "host:1", "orders.routed", (10, 12, 15, 15)))
    feed(state, *buckets(T0 + 1 * S, "host:2", "market.quotes", (0, 0, 0, 0)))
    # increases: host:1 30, 55, 60, 60; host:2 20, 35, 38, 40 → summed 50, 90, 98, 100
    feed(state, *buckets(T0 + 11 * S, "host:1", "orders.routed", (40, 67, 75, 75)))
    feed(state, *buckets(T0 + 11 * S, "host:2", "market.quotes", (20, 35, 38, 40)))
    feed(state, metric("consumer_lag", 7, T0 + 11 * S, processor="executor", kind="gauge"))

    (alert,) = evaluate(state, T0 + 12 * S, CONFIG)
    assert (alert.rule, alert.labels, alert.value, alert.threshold) == (
        Rule.LATENCY,
        {"processor": "executor"},
        pytest.approx(100.0),
        50,
    )
    assert alert.message == (
        "executor hop latency p99 100.0 ms over 100 records in the last 60 s (threshold 50 ms)"
    )
    p95 = MonitorConfig(latency_quantile=0.95, max_latency_ms=80, min_latency_samples=20)
    (alert,) = evaluate(state, T0 + 12 * S, p95)
    assert alert.value == pytest.approx(81.25)
    own = MonitorConfig(max_latency_ms=50, max_latency_ms_by_processor={"executor": 150})
    assert evaluate(state, T0 + 12 * S, own) == []
    few = MonitorConfig(max_latency_ms=50, min_latency_samples=101)
    assert evaluate(state, T0 + 12 * S, few) == []


# -- shortfall -----------------------------------------------------------------------------


def tca(order: str, strategy: str, bps: float | None) -> TcaResult:
    return TcaResult.model_validate(
        {
            "order_id": f"o-{order}",
            "signal_id": order,
            "strategy_id": strategy,
            "account_id": "acct-1",
            "symbol": "BTC/USDT",
            "side": "buy",
            "status": "filled",
            "quantity": "1",
            "filled_quantity": "1",
            "fill_ratio": 1.0,
            "fees": "0",
            "total_cost_bps": bps,
            "duration_us": 0,
            "completed_at": T0,
        }
    )


def test_mean_shortfall_of_orders_completed_in_the_window_overall_and_per_strategy():
    state = MonitorState()
    observe_tca(state, tca("old", "a", 500.0), T0 - 100 * S)  # before the window
    for number, (strategy, bps) in enumerate(
        [("a", 80.0), ("a", 40.0), ("b", 10.0), ("b", 20.0), ("b", 30.0), ("b", None)]
    ):
        observe_tca(state, tca(str(number), strategy, bps), T0 + number * S)

    (overall,) = evaluate(state, T0 + 10 * S, CONFIG)
    # (80 + 40 + 10 + 20 + 30) / 5 = 36; the order without a cost does not count
    assert (overall.rule, overall.value, overall.labels) == (Rule.SHORTFALL, 36.0, {})
    assert overall.message == (
        "mean implementation shortfall 36.0 bps over 5 orders in the last 60 s (threshold 30 bps)"
    )
    per_strategy = MonitorConfig(max_shortfall_bps=30, min_orders=2, shortfall_by_strategy=True)
    alerts = evaluate(state, T0 + 10 * S, per_strategy)
    assert {(a.labels.get("strategy_id"), a.value) for a in alerts} == {(None, 36.0), ("a", 60.0)}
    assert evaluate(state, T0 + 70 * S, CONFIG) == []  # (40 + 10 + 20 + 30) / 4 = 25


# -- heartbeats ----------------------------------------------------------------------------


def test_a_processor_silent_past_the_timeout_is_critical_until_it_beats_again():
    state = feed(
        MonitorState(),
        metric("heartbeat", 0, T0, processor="router", kind="gauge", worker="host:1"),
        metric("heartbeat", 0, T0, processor="oms", kind="gauge", worker="host:2"),
        metric("heartbeat", 0, T0 + 5 * S, processor="oms", kind="gauge", worker="host:3"),
    )
    assert evaluate(state, T0 + 10 * S, CONFIG) == []  # exactly the timeout: not yet
    (alert,) = evaluate(state, T0 + 10 * S + 500_000, CONFIG)  # oms's other worker beat at +5
    assert (alert.rule, alert.severity, alert.labels) == (
        Rule.HEARTBEAT,
        Severity.CRITICAL,
        {"processor": "router"},
    )
    assert alert.message == "no heartbeat from router for 10.5 s (threshold 10 s)"
    firing = transition({}, [alert]).firing

    feed(state, metric("heartbeat", 0, T0 + 12 * S, processor="router", kind="gauge"))
    changes = transition(firing, evaluate(state, T0 + 13 * S, CONFIG))
    assert changes.resolved == (alert,)
    assert changes.fired == ()


def staleness(seconds: float, at_us: int, symbol: str = "BTC/USDT") -> Metric:
    return metric(
        "feed_staleness_seconds",
        seconds,
        at_us,
        processor="feed",
        kind="gauge",
        venue="binance",
        symbol=symbol,
    )


def test_a_feed_symbol_stale_past_the_threshold_is_critical_until_data_comes_again():
    config = MonitorConfig(max_feed_staleness_us=30 * S)
    state = feed(MonitorState(), staleness(2.0, T0), staleness(25.0, T0, symbol="ETH/USDT"))
    assert evaluate(state, T0 + 5 * S, config) == []  # 25 + 5 s: exactly the threshold
    # the feed stopped reporting: its last figure ages with the time since it was published
    (alert,) = evaluate(state, T0 + 5_500_000, config)
    assert (alert.rule, alert.severity, alert.labels) == (
        Rule.STALE_FEED,
        Severity.CRITICAL,
        {"venue": "binance", "symbol": "ETH/USDT"},
    )
    assert alert.value == pytest.approx(30.5)
    assert alert.message == ("no market data from binance for ETH/USDT for 30.5 s (threshold 30 s)")
    feed(state, staleness(31.0, T0 + 6 * S), staleness(0.1, T0 + 7 * S, symbol="ETH/USDT"))
    feed(state, staleness(40.0, T0 + 1 * S, symbol="ETH/USDT"))  # an older figure, late
    (stale,) = evaluate(state, T0 + 8 * S, config)
    assert stale.labels["symbol"] == "BTC/USDT" and stale.value == pytest.approx(33.0)


def test_the_staleness_threshold_is_configured_in_seconds():
    assert MonitorConfig.from_dict({"max_feed_staleness_seconds": 5}).max_feed_staleness_us == (
        5 * S
    )
    assert MonitorConfig().max_feed_staleness_us == 30 * S
    with pytest.raises(ValueError, match="max_feed_staleness_seconds"):
        MonitorConfig.from_dict({"max_feed_staleness_seconds": 0})


# -- transitions ---------------------------------------------------------------------------


def test_each_alert_fires_and_resolves_once_by_rule_and_labels():
    def stale(processor: str, seconds: float):
        return evaluate(
            feed(MonitorState(), metric("heartbeat", 0, T0, processor=processor, kind="gauge")),
            T0 + int(seconds * S),
            CONFIG,
        )

    (router,) = stale("router", 11)
    (oms,) = stale("oms", 11)
    (router_later,) = stale("router", 12)  # the same alert, a later figure
    first = transition({}, [router])
    second = transition(first.firing, [router_later, oms])
    assert second.fired == (oms,)
    assert second.resolved == ()
    third = transition(second.firing, [oms])
    assert third.resolved == (router_later,)  # as last seen firing
    assert transition(third.firing, [router, oms]).fired == (router,)  # may fire again
