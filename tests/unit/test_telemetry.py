"""A worker's figures as `Metric` records: the contract the API, the monitor and the gateway's
dead man's switch read."""

from __future__ import annotations

from fillstream.schemas.models import MetricKind
from fillstream.streams.telemetry import (
    Telemetry,
    heartbeat,
    lag_records,
    metric_records,
    partition_records,
    usage_records,
)

NOW = 1_723_100_000_000_000


def by_key(records):
    return {(r.name, tuple(sorted(r.labels.items()))): r for r in records}


def test_counters_and_histograms_become_records_with_the_worker_label():
    telemetry = Telemetry("risk")
    telemetry.records_in.labels("signals").inc(3)
    telemetry.rejections.labels("MAX_QUANTITY").inc()
    for seconds in (0.0004, 0.003, 0.003, 0.7):  # buckets: ≤0.0005, ≤0.005 (twice), ≤1
        telemetry.hop_latency.labels("signals").observe(seconds)

    records = by_key(metric_records("risk", "host:1", telemetry.registry.collect(), NOW))

    taken = records[("records_in_total", (("topic", "signals"), ("worker", "host:1")))]
    assert (taken.value, taken.kind, taken.processor) == (3.0, MetricKind.COUNTER, "risk")
    refused = records[("rejections_total", (("reason", "MAX_QUANTITY"), ("worker", "host:1")))]
    assert refused.value == 1.0

    def bucket(le: str) -> float:
        labels = (("le", le), ("topic", "signals"), ("worker", "host:1"))
        return records[("hop_latency_seconds_bucket", labels)].value

    # Cumulative counts, by hand from the four observations above.
    assert [bucket(le) for le in ("0.0005", "0.001", "0.005", "0.5", "1.0", "+Inf")] == [
        1,
        1,
        3,
        3,
        4,
        4,
    ]
    count = records[("hop_latency_seconds_count", (("topic", "signals"), ("worker", "host:1")))]
    total = records[("hop_latency_seconds_sum", (("topic", "signals"), ("worker", "host:1")))]
    assert count.value == 4 and abs(total.value - 0.7064) < 1e-12
    assert count.kind is MetricKind.HISTOGRAM
    assert not any(name.endswith("_created") for name, _ in records)
    assert all(record.timestamp == NOW for record in records.values())


def test_the_heartbeat_carries_wall_clock_seconds():
    beat = heartbeat("executor", "host:7", NOW)
    assert (beat.name, beat.kind, beat.labels) == (
        "heartbeat",
        MetricKind.GAUGE,
        {"worker": "host:7"},
    )
    assert beat.value == 1_723_100_000.0 and beat.timestamp == NOW


def test_lag_is_end_minus_committed_and_the_whole_partition_before_any_commit():
    committed = [("signals", 0, 40), ("signals", 1, -1001), ("market.quotes", 0, 10)]
    ends = {("signals", 0): 55, ("signals", 1): 7}  # no end known for market.quotes
    records = lag_records("risk", "host:1", committed, ends, NOW)
    assert [(r.labels["topic"], r.labels["partition"], r.value) for r in records] == [
        ("signals", "0", 15.0),
        ("signals", "1", 7.0),
    ]
    assert all(r.name == "consumer_lag" and r.kind is MetricKind.GAUGE for r in records)


def test_a_workers_usage_is_two_gauges_and_what_is_unknown_is_left_out():
    cpu, memory = usage_records("desk", "host:7", 37.5, 52_428_800, NOW)
    assert (cpu.name, cpu.kind, cpu.value) == ("process_cpu_percent", MetricKind.GAUGE, 37.5)
    assert (memory.name, memory.value) == ("process_resident_memory_bytes", 52_428_800.0)
    assert cpu.labels == memory.labels == {"worker": "host:7"}
    (memory_only,) = usage_records("desk", "host:7", None, 1024, NOW)  # the first beat
    assert memory_only.name == "process_resident_memory_bytes"


def test_every_input_partition_says_whether_the_worker_holds_it():
    records = partition_records("desk", "host:7", [2, 0], range(4), NOW)
    assert [(r.labels["partition"], r.value) for r in records] == [
        ("0", 1.0),
        ("1", 0.0),
        ("2", 1.0),
        ("3", 0.0),
    ]
    assert {r.name for r in records} == {"partition_assigned"}
    assert all(r.labels["worker"] == "host:7" for r in records)
