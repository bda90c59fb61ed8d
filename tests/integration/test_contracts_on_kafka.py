"""Every contract through a real broker, the ops tools, and the demo's round trip."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.demo import SAMPLE_SIGNALS
from fillstream.infra.topic_io import consume, end_offsets, make_producer, publish
from fillstream.infra.topics import describe, ensure_topics
from fillstream.schemas import jsonl
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import CATALOG, broadcast, find, key_of, partition_of
from tests.examples import example_records

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(kafka_bootstrap, monkeypatch) -> str:
    """The session's broker, with a topic prefix of this test's own."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", prefix)
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    return prefix


def _canonical(records):
    return sorted(jsonl.dumps(record) for record in records)


def test_every_contract_round_trips_through_the_broker(cluster):
    ensure_topics(CATALOG)
    producer = make_producer()
    for spec in CATALOG:
        records = example_records(spec)
        assert publish(spec, records, producer) == len(records)
    for spec in CATALOG:
        sent = [  # a broadcast record arrives once per partition
            record
            for record in example_records(spec)
            for _ in range(spec.partitions if broadcast(spec, key_of(spec, record)) else 1)
        ]
        received = list(consume(spec, from_beginning=True, max_records=len(sent), idle_timeout=20))
        assert [item.error for item in received] == [None] * len(sent), spec.name
        assert _canonical(item.record for item in received) == _canonical(sent), spec.name
        assert sorted(item.key or b"" for item in received) == sorted(
            key_of(spec, record) or b"" for record in sent
        )


def test_corrupt_bytes_on_a_topic_yield_the_typed_error(cluster):
    spec = find("signals")
    ensure_topics([spec])
    producer = make_producer()
    producer.produce(spec.full_name, key=b"acct-1", value=b"\xc3\x01not-avro-at-all")
    producer.flush(10)
    publish(spec, example_records(spec)[:1], producer)
    received = list(consume(spec, from_beginning=True, max_records=2, idle_timeout=20))
    errors = [item for item in received if item.error is not None]
    assert len(errors) == 1
    assert isinstance(errors[0].error, UndecodableRecord)
    assert errors[0].raw == b"\xc3\x01not-avro-at-all"
    assert [item.record["signal_id"] for item in received if item.record] == ["sig-0001"]


def test_topics_create_is_idempotent_and_applies_the_catalog(cluster):
    runner = CliRunner()
    first = runner.invoke(app, ["topics", "create"])
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == len(CATALOG)
    second = runner.invoke(app, ["topics", "create"])
    assert second.exit_code == 0, second.output
    assert "created" not in second.output
    assert second.output.count("exists") == len(CATALOG)

    state = describe(find("orders.state"))
    assert state["config"]["cleanup.policy"] == "compact"
    assert len(state["partitions"]) == 3
    signals = describe(find("signals"))
    assert signals["config"]["retention.ms"] == "-1"
    assert len(describe(find("deadletter"))["partitions"]) == 1


def test_produce_refuses_a_file_with_an_invalid_line_and_sends_nothing(cluster, tmp_path):
    spec = find("signals")
    ensure_topics([spec])
    good, bad = SAMPLE_SIGNALS.read_text().splitlines()[:2]
    broken = bad.replace('"price":"61300.00",', "")  # a limit order without its price
    source = tmp_path / "signals.jsonl"
    source.write_text("\n".join([good, broken, "{not json"]) + "\n")

    result = CliRunner().invoke(app, ["produce", "signals", str(source)])

    assert result.exit_code == 1
    assert "line 2: record: a limit order needs a price" in result.output
    assert "line 3: invalid JSON" in result.output
    assert "nothing was sent" in result.output
    assert sum(end_offsets(spec).values()) == 0


def test_produce_then_tail_returns_the_same_records(cluster):
    ensure_topics([find("signals")])
    runner = CliRunner()
    produced = runner.invoke(app, ["produce", "signals", str(SAMPLE_SIGNALS)])
    assert produced.exit_code == 0, produced.output
    expected = example_records(find("signals"))
    tailed = runner.invoke(
        app,
        ["tail", "signals", "--from-beginning", "--max-records", str(len(expected))],
    )
    assert tailed.exit_code == 0, tailed.output
    lines = [line for line in tailed.output.splitlines() if line.startswith("{")]
    assert sorted(lines) == _canonical(expected)


def test_a_processor_started_on_a_bare_cluster_creates_its_topics_once_each(cluster):
    """The desk reads topics it also writes (commands, orders.rejected): asked to create each
    twice, the broker refuses the whole request."""
    from fillstream.config import load_config
    from fillstream.infra.topics import admin_client, existing_partitions
    from fillstream.processors import build_stage
    from fillstream.streams.runtime import Processor

    processor = Processor("desk", lambda: build_stage("desk", load_config()))
    try:
        present = existing_partitions(admin_client())
        for topic in (*processor.inputs, *processor.outputs, "deadletter"):
            assert present[find(topic).full_name] == find(topic).partitions, topic
    finally:
        processor.consumer.close()
        processor.restorer.close()


def test_a_keyed_record_lands_on_the_partition_partition_of_names(cluster):
    # The stages that tell their own keys from others' compute the producers' partitioner.
    spec = find("signals")
    ensure_topics([spec])
    signals = [
        record | {"account_id": f"acct-{n}", "signal_id": f"s-{n}"}
        for n, record in enumerate(example_records(spec)[:1] * 24)
    ]
    assert publish(spec, signals, make_producer()) == len(signals)
    received = list(consume(spec, from_beginning=True, max_records=len(signals), idle_timeout=20))
    assert len(received) == len(signals) and spec.partitions > 1
    assert len({item.partition for item in received}) > 1  # 24 keys spread over partitions
    for item in received:
        assert item.partition == partition_of(item.key, spec.partitions)
