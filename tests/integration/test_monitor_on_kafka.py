"""The risk monitor on Kafka: figures in on `metrics` and `tca`, alerts out on `metrics`.

`fillstream run monitor` (a process of its own, as `Pipeline` starts it) reads from the
topics' ends; a plain producer publishes a risk worker's counters, an executor's latency
histogram, a processor's heartbeat and two orders' TCA, as the processors would. Each rule's
alert must appear once, then its resolution once, as the figures come back within bounds.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest

from fillstream.infra.topic_io import consume, publish
from fillstream.infra.topics import ensure_topics
from fillstream.pipeline import Pipeline
from fillstream.schemas.models import Metric, TcaResult
from fillstream.schemas.topics import find

pytestmark = pytest.mark.integration

THRESHOLDS = """
[monitor]
window_seconds = 10
max_rejection_rate = 0.10
min_signals = 20
latency_quantile = 0.99
max_latency_ms = 50
min_latency_samples = 10
max_shortfall_bps = 30
min_orders = 2
heartbeat_timeout_seconds = 3
"""


@pytest.fixture(scope="module")
def monitor(kafka_bootstrap, tmp_path_factory) -> Iterator[Pipeline]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
        env.setenv("FILLSTREAM_TOPIC_PREFIX", f"mon{uuid.uuid4().hex[:6]}.")
        env.setenv("FILLSTREAM_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        env.setenv("FILLSTREAM_LOG_LEVEL", "INFO")
        ensure_topics([find("metrics"), find("tca")])
        config = tmp_path_factory.mktemp("config") / "engine.toml"
        config.write_text(THRESHOLDS)
        pipeline = Pipeline(config=config, log_dir=tmp_path_factory.mktemp("logs"))
        pipeline.start(["monitor"])
        try:
            # its first heartbeat comes once it reads from the topics' ends
            wait_for(lambda m: m["name"] == "heartbeat", "the monitor's heartbeat", pipeline)
            yield pipeline
        finally:
            pipeline.stop()


def monitor_records() -> list[dict]:
    return [
        item.record
        for item in consume(find("metrics"), from_beginning=True, idle_timeout=0.5)
        if item.record and item.record["processor"] == "monitor"
    ]


def wait_for(
    found: Callable[[dict], bool], what: str, pipeline: Pipeline, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not any(found(record) for record in monitor_records()):
        pipeline.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} on metrics after {timeout} s")


def alerts_by_rule() -> dict[str, list[dict]]:
    alerts = defaultdict(list)
    for record in monitor_records():
        if record["name"] == "alert":
            alerts[record["labels"]["rule"]].append(record)
    return alerts


def figure(name: str, value: float, processor: str, kind: str = "counter", **labels: str) -> dict:
    return Metric(
        processor=processor,
        name=name,
        kind=kind,
        value=value,
        labels={**labels, "worker": f"{processor}-host:1"},
        timestamp=time.time_ns() // 1000,
    ).model_dump()


def risk(signals: int, rejections: int) -> list[dict]:
    return [
        figure("records_in_total", signals, "risk", topic="signals"),
        figure("rejections_total", rejections, "risk", reason="MAX_ORDER_QUANTITY"),
    ]


def executor_latency(counts: tuple[int, ...]) -> list[dict]:
    bounds = ("0.01", "0.05", "0.1", "0.25", "+Inf")
    return [
        figure("hop_latency_seconds_bucket", count, "executor", "histogram", topic="slices", le=le)
        for le, count in zip(bounds, counts, strict=True)
    ]


def order(number: int, bps: float) -> dict:
    return TcaResult.model_validate(
        {
            "order_id": f"o-mon-{number}",
            "signal_id": f"mon-{number}",
            "strategy_id": "momentum",
            "account_id": "acct-1",
            "symbol": "BTC/USDT",
            "side": "buy",
            "status": "filled",
            "quantity": "1",
            "filled_quantity": "1",
            "fill_ratio": 1.0,
            "fees": "0",
            "total_cost_bps": bps,
            "duration_us": 1_000_000,
            "completed_at": time.time_ns() // 1000,
        }
    ).model_dump()


def test_each_rule_fires_once_and_resolves_once(monitor):
    metrics = find("metrics")
    publish(metrics, [*risk(0, 0), *executor_latency((0, 0, 0, 0, 0))])
    publish(metrics, [figure("heartbeat", time.time(), "router", "gauge")])
    # 3 rejections of 20 signals; 10 hops, 5 of them in (0.1, 0.25] s; shortfall 80 and 40 bps
    publish(metrics, [*risk(20, 3), *executor_latency((0, 0, 5, 10, 10))])
    publish(find("tca"), [order(1, 80.0), order(2, 40.0)])

    rules = {"rejection_rate", "latency", "shortfall", "heartbeat"}
    wait_for(lambda _: rules <= set(alerts_by_rule()), "alert of every rule", monitor, timeout=30)
    fired = {rule: records[0] for rule, records in alerts_by_rule().items()}
    assert {rule: alert["value"] for rule, alert in fired.items()} == dict.fromkeys(rules, 1.0)
    assert fired["rejection_rate"]["labels"]["message"] == (
        "risk rejected 15.0% of 20 signals in the last 10 s (threshold 10.0%)"
    )
    assert fired["rejection_rate"]["labels"]["severity"] == "warning"
    # p99: rank 9.9 of 10 in (0.1, 0.25] holding ranks 6..10: 0.1 + 0.15 × 4.9 / 5 = 0.247 s
    assert fired["latency"]["labels"]["message"] == (
        "executor hop latency p99 247.0 ms over 10 records in the last 10 s (threshold 50 ms)"
    )
    assert fired["latency"]["labels"]["processor"] == "executor"
    assert fired["shortfall"]["labels"]["message"] == (
        "mean implementation shortfall 60.0 bps over 2 orders in the last 10 s (threshold 30 bps)"
    )
    # Fired past the 3 s timeout, at the first evaluation after it (one a second, later on a
    # loaded machine).
    silence = re.fullmatch(
        r"no heartbeat from router for (\d+\.\d) s \(threshold 3 s\)",
        fired["heartbeat"]["labels"]["message"],
    )
    assert silence is not None and 3 <= float(silence.group(1)) < 10
    assert fired["heartbeat"]["labels"]["severity"] == "critical"

    # back within bounds: 200 signals more without a rejection, the router beats again; the
    # latency and the shortfall leave the window
    publish(metrics, [*risk(220, 3), figure("heartbeat", time.time(), "router", "gauge")])
    wait_for(
        lambda _: all(len(alerts) >= 2 for alerts in alerts_by_rule().values()),
        "resolution of every alert",
        monitor,
        timeout=30,
    )
    time.sleep(2)  # two more evaluations: still nothing more to say
    alerts = alerts_by_rule()
    for rule in ("rejection_rate", "latency", "shortfall"):
        assert [a["value"] for a in alerts[rule]] == [1.0, 0.0], rule
    assert [a["value"] for a in alerts["heartbeat"]][:2] == [1.0, 0.0]
    resolved = alerts["rejection_rate"][1]["labels"]["message"]
    assert resolved == f"resolved: {fired['rejection_rate']['labels']['message']}"

    log = (monitor.log_dir / "monitor.log").read_text()
    assert "WARNING fillstream.monitor: alert rejection_rate (warning): risk rejected 15.0%" in log
    assert "INFO fillstream.monitor: alert rejection_rate (warning) resolved: risk rejected" in log
    monitor.check_alive()
