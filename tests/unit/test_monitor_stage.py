"""The monitor's stage on the processor loop: judged on the records' own time, at most once a
second of it, its own heartbeat keeping time when nothing else comes."""

from __future__ import annotations

import pytest

from fillstream.processors import PROCESSORS as PIPELINE
from fillstream.schemas.models import Metric
from fillstream.streams.monitor import MonitorConfig
from fillstream.streams.stages.monitor import MonitorStage
from tests.unit.test_monitor import CONFIG, T0, S, metric, risk_figures

PROCESSORS = (*PIPELINE, "gateway")  # the names a latency threshold may give


def heartbeat(at_us: int, processor: str = "monitor") -> Metric:
    return metric("heartbeat", at_us / S, at_us, processor=processor, kind="gauge", worker="m:1")


def run(stage: MonitorStage, records: list[Metric]) -> list[tuple[int, str, float, str]]:
    """What the stage announced: (at, rule, 1 fired / 0 resolved, message) for each alert."""
    announced = []
    for record in records:
        for emit in stage.handle("metrics", record, record.timestamp):
            alert = emit.record
            assert emit.topic == "metrics" and alert.processor == "monitor"
            labels = alert.labels
            announced.append((alert.timestamp, labels["rule"], alert.value, labels["message"]))
    return announced


def tape() -> list[Metric]:
    """Risk's baseline at +1 s; 3 rejections of 20 signals by +11 s; 100 more signals, none
    rejected, by +21 s; the monitor's own heartbeat every second from +1 to +25 s."""
    records = [
        *risk_figures(T0 + 1 * S, 100, MAX_ORDER_QUANTITY=4),
        *risk_figures(T0 + 11 * S, 120, MAX_ORDER_QUANTITY=7),
        *risk_figures(T0 + 21 * S, 220, MAX_ORDER_QUANTITY=7),
        *(heartbeat(T0 + n * S) for n in range(1, 26)),
    ]
    return sorted(records, key=lambda record: record.timestamp)


def test_an_alert_is_announced_once_when_it_fires_and_once_when_it_resolves():
    announced = run(MonitorStage(CONFIG, PROCESSORS), tape())
    # 3 of 20 is 15% > 10%. The judgement of +11 s is made on the first record of +11 s,
    # risk's heartbeat, before its counts: the next one, at +12 s, sees them. Likewise 3 of
    # 120, 2.5%, resolves it at +22 s.
    message = "risk rejected 15.0% of 20 signals in the last 60 s (threshold 10.0%)"
    assert announced == [
        (T0 + 12 * S, "rejection_rate", 1.0, message),
        (T0 + 22 * S, "rejection_rate", 0.0, f"resolved: {message}"),
    ]


def test_the_same_records_announce_the_same_alerts_whoever_reads_them():
    """A restarted monitor reads the records again (at least once): what it announces must
    equal what was announced, so nothing in an alert names the worker that made it."""
    first, again = MonitorStage(CONFIG, PROCESSORS), MonitorStage(CONFIG, PROCESSORS)
    records = tape()
    announced = [e.record for r in records for e in first.handle("metrics", r, r.timestamp)]
    assert len(announced) == 2  # fired and resolved
    assert all("worker" not in alert.labels for alert in announced)
    assert announced == [e.record for r in records for e in again.handle("metrics", r, r.timestamp)]


def test_it_judges_at_most_once_a_second_of_event_time_and_never_goes_back():
    stage = MonitorStage(CONFIG, PROCESSORS)
    run(stage, [heartbeat(T0 + 10 * S, "router")])
    assert stage.next_evaluation == T0 + 11 * S
    # a record stamped earlier (another partition's) does not move the clock back
    run(stage, [heartbeat(T0 + 5 * S)])
    assert (stage.now_us, stage.next_evaluation) == (T0 + 10 * S, T0 + 11 * S)
    # router silent 10.5 s past its beat at +10 s: critical at the first evaluation after
    announced = run(stage, [heartbeat(T0 + n * S + 500_000) for n in range(11, 22)])
    assert announced == [
        (
            T0 + 20 * S + 500_000,
            "heartbeat",
            1.0,
            "no heartbeat from router for 10.5 s (threshold 10 s)",
        )
    ]


def test_its_own_figures_keep_its_time_but_never_alert():
    """Its own reading of telemetry, 20 records all slower than 0.25 s (p99 far over 50 ms):
    the same histogram from the executor alerts."""

    def histogram(processor: str, at_us: int, count: int) -> list[Metric]:
        return [
            metric(
                "hop_latency_seconds_bucket",
                count if le == "+Inf" else 0,
                at_us,
                processor=processor,
                kind="histogram",
                worker="m:1",
                topic="metrics",
                le=le,
            )
            for le in ("0.05", "0.25", "+Inf")
        ]

    def rules(processor: str) -> tuple[list[str], int]:
        """The rules announced, and the stage's clock at the end."""
        stage = MonitorStage(CONFIG, PROCESSORS)
        records = [
            heartbeat(T0),
            *histogram(processor, T0 + S, 0),
            *histogram(processor, T0 + 11 * S, 20),
            *(heartbeat(T0 + n * S) for n in range(12, 15)),
        ]
        return [rule for _, rule, _, _ in run(stage, records)], stage.now_us

    assert rules("executor") == (["latency"], T0 + 14 * S)
    assert rules("monitor") == ([], T0 + 14 * S)  # its heartbeats moved its clock all the same


def test_a_latency_threshold_for_a_processor_nobody_runs_is_refused():
    config = MonitorConfig(max_latency_ms_by_processor={"routr": 10.0})
    with pytest.raises(ValueError, match="no processor is named 'routr'"):
        MonitorStage(config, PROCESSORS)
