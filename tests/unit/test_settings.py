"""Settings from the environment: the commit interval follows the processing guarantee."""

from __future__ import annotations

import pytest

from fillstream import settings


def test_the_commit_interval_is_short_only_where_it_bounds_latency(monkeypatch):
    monkeypatch.delenv("FILLSTREAM_COMMIT_INTERVAL", raising=False)
    monkeypatch.delenv("FILLSTREAM_PROCESSING_GUARANTEE", raising=False)
    assert settings.commit_interval() == 0.5  # at-least-once, the default: a checkpoint
    assert settings.commit_interval("exactly-once") == 0.1  # each hop waits for a commit
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "exactly-once")
    assert settings.commit_interval() == 0.1
    monkeypatch.setenv("FILLSTREAM_COMMIT_INTERVAL", "2")
    assert settings.commit_interval() == settings.commit_interval("exactly-once") == 2.0


def test_an_unknown_guarantee_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "maybe-once")
    with pytest.raises(ValueError, match="use at-least-once or exactly-once"):
        settings.commit_interval()


def test_records_wait_for_the_commit_only_where_nothing_reads_them_before_it(monkeypatch):
    monkeypatch.delenv("FILLSTREAM_COMMIT_INTERVAL", raising=False)
    monkeypatch.delenv("FILLSTREAM_PROCESSING_GUARANTEE", raising=False)
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "exactly-once")
    assert settings.linger_ms() == 100  # exactly-once: the 0.1 s commit sends them
    assert settings.linger_ms("at-least-once") == 1  # read as soon as written
    monkeypatch.setenv("FILLSTREAM_COMMIT_INTERVAL", "0.2")
    assert settings.linger_ms() == 200
    assert settings.linger_ms("at-least-once") == 1
    monkeypatch.setenv("FILLSTREAM_COMMIT_INTERVAL", "0.001")
    assert settings.linger_ms() == 5
    monkeypatch.setenv("FILLSTREAM_COMMIT_INTERVAL", "3600")
    assert settings.linger_ms() == 900_000  # librdkafka's longest


def test_fetches_gather_bytes_only_where_each_hop_waits_for_a_commit_anyway(monkeypatch):
    monkeypatch.delenv("FILLSTREAM_PROCESSING_GUARANTEE", raising=False)
    assert settings.fetch_min_bytes() == 1
    assert settings.fetch_min_bytes("exactly-once") == 4096
    monkeypatch.setenv("FILLSTREAM_PROCESSING_GUARANTEE", "at-least-once")
    assert settings.fetch_min_bytes() == 1


def test_a_processors_group_is_named_under_the_runs_topic_prefix(monkeypatch):
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", "prod.")
    assert settings.processor_group("desk") == "prod.fillstream-desk"
    assert settings.processor_group("desk", "demo-1.") == "demo-1.fillstream-desk"
    assert settings.processor_group("risk", "") == "fillstream-risk"
