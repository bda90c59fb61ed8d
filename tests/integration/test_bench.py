"""`fillstream bench` on a real broker, shrunk to seconds: every signal acknowledged, figures
that make sense, and nothing of the run left on the cluster."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.infra.topics import admin_client, existing_partitions

pytestmark = pytest.mark.integration

TINY = [
    "bench",
    *("--rate", "100", "--duration", "0.5"),  # 50 signals
    *("--warmup", "0", "--ramp-start", "200", "--max-steps", "1", "--step-duration", "1"),
    *("--drain", "30", "--core-repeats", "0"),  # a slow machine may lag, never lose signals
]


def test_a_tiny_bench_acknowledges_every_signal_and_cleans_up(
    kafka_bootstrap, tmp_path, monkeypatch
):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, [*TINY, "--json", str(out)])
    assert result.exit_code == 0, result.output

    figures = json.loads(out.read_text())
    assert set(figures) == {
        *("machine", "settings", "phases", "sustained_rate", "failure", "cores", "targets")
    }
    assert figures["failure"] is None
    assert figures["settings"]["processing_guarantee"] == "at-least-once"
    latency, step = figures["phases"]
    assert (latency["kind"], latency["offered_rate"], latency["signals"]) == ("latency", 100, 50)
    assert latency["acked"] == 50
    assert latency["without_ack"] == latency["no_report"] == latency["undelivered"] == 0
    assert latency["first_report_not_ack"] == latency["refused"] == {}
    ms = latency["latency_ms"]
    assert 0 < ms["p50"] <= ms["p99"] <= ms["p99_9"] <= ms["max"]
    assert (step["kind"], step["offered_rate"], step["signals"]) == ("sustained", 200, 200)
    assert step["acked"] + step["without_ack"] == 200
    assert "p99_ms_at_1000" not in figures["targets"]  # 1,000/s was not run
    cpu = latency["cpu_us_per_signal"]
    assert set(cpu["processors"]) >= {"risk", "desk", "monitor"}
    # the broker is measured only if it is the local one (pid known), and then in the total
    assert (cpu["broker"] is None) == (figures["settings"]["broker_pid"] is None)
    assert cpu["total"] == pytest.approx(sum(cpu["processors"].values()) + (cpu["broker"] or 0))
    assert cpu["total"] > 0 and cpu["bench"] is not None
    records = latency["records_per_signal"]
    assert records["includes_transaction_markers"] is False  # counted out
    assert records["by_topic"]["signals"] == 1.0  # each signal once, read back without markers
    assert records["total"] == pytest.approx(sum(records["by_topic"].values()))
    assert records["offsets"] == records["total"]  # at-least-once: no transaction markers
    assert figures["cores"] == []

    prefix = figures["settings"]["topic_prefix"]
    assert not [name for name in existing_partitions(admin_client()) if prefix in name]
