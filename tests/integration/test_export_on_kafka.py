"""`fillstream export` against a real broker: records in, one Parquet file per topic out."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

import polars as pl
import pytest
from typer.testing import CliRunner

from fillstream.analytics.export import DEFAULT_TOPICS, parquet_path
from fillstream.cli import app
from fillstream.infra.topic_io import codec, make_producer, publish, send
from fillstream.infra.topics import ensure_topics
from fillstream.schemas.topics import find, key_of
from tests.examples import example_records

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(kafka_bootstrap, monkeypatch) -> str:
    """The session's broker, with a topic prefix of this test's own."""
    prefix = f"x{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", prefix)
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    return prefix


def publish_in_a_transaction(topic: str, records: list[dict]) -> None:
    """As the processors write: the commit marker takes the partition's last offset."""
    spec = find(topic)
    producer = make_producer(**{"transactional.id": f"export-test-{uuid.uuid4().hex[:8]}"})
    producer.init_transactions(10)
    producer.begin_transaction()
    for record in records:
        send(producer, spec, codec(spec).encode(record), key_of(spec, record))
    producer.commit_transaction(10)


def test_export_writes_each_topic_up_to_its_end_and_stops(cluster, tmp_path):
    ensure_topics([find(topic) for topic in DEFAULT_TOPICS])
    for topic in ("fills", "orders.state", "slices", "market.quotes"):
        publish(find(topic), example_records(find(topic)))
    tca = example_records(find("tca"))[0]
    second = tca | {"order_id": "ord-2", "total_cost_bps": -1.5, "quantity": D("0.000001")}
    publish_in_a_transaction("tca", [tca, second])
    producer = make_producer()
    producer.produce(find("fills").full_name, key=b"BTC/USDT", value=b"\xc3\x01not avro")
    producer.flush(10)

    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["export", "--out", str(out)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "1 undecodable left out" in result.output

    for topic in DEFAULT_TOPICS:
        frame = pl.read_parquet(parquet_path(out, topic))
        expected = 2 if topic == "tca" else len(example_records(find(topic)))
        assert frame.height == (0 if topic == "market.trades" else expected), topic
    exported = pl.read_parquet(parquet_path(out, "tca")).sort("order_id")
    assert exported["order_id"].to_list() == ["ord-2", "ord-sig-0001"]
    assert exported["quantity"].to_list() == [D("0.000001"), D("0.25")]
    assert exported["total_cost_bps"].to_list() == [-1.5, 10.18]
    assert exported["markouts_bps"][1].to_list() == [
        {"key": "1", "value": 0.5},
        {"key": "10", "value": -1.2},
    ]
    fills = pl.read_parquet(parquet_path(out, "fills"))
    assert sorted(fills["report_id"].to_list()) == sorted(
        record["report_id"] for record in example_records(find("fills"))
    )

    later = CliRunner().invoke(
        app, ["export", "tca", "--out", str(out), "--since", "2100-01-01T00:00:00Z"]
    )
    assert later.exit_code == 0, later.output
    assert pl.read_parquet(parquet_path(out, "tca")).height == 0


def test_export_names_topics_missing_from_the_cluster(cluster, tmp_path):
    result = CliRunner().invoke(app, ["export", "tca", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert f"not on the cluster: {cluster}tca" in result.output
