"""`fillstream export --format jsonl --daily` against a real broker: day files, and the same
bytes when run again."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fillstream.analytics.daylog import LOG_TOPICS
from fillstream.cli import app
from fillstream.infra.topic_io import publish
from fillstream.infra.topics import ensure_topics
from fillstream.schemas import jsonl
from fillstream.schemas.topics import find
from tests.examples import example_records

pytestmark = pytest.mark.integration

MIDNIGHT = 1723161600_000000  # 2024-08-09T00:00:00Z in µs


@pytest.fixture
def cluster(kafka_bootstrap, monkeypatch) -> str:
    """The session's broker, with a topic prefix of this test's own."""
    prefix = f"d{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("FILLSTREAM_TOPIC_PREFIX", prefix)
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    return prefix


def files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def export(out: Path) -> None:
    args = ["export", "--format", "jsonl", "--daily", "--out", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "records →" in result.output


def test_a_daily_export_run_twice_writes_the_same_day_files(cluster, tmp_path):
    ensure_topics([find(topic) for topic in LOG_TOPICS])
    fills = example_records(find("fills"))  # three fills, a µs before, at and after midnight
    for fill, timestamp in zip(fills, (MIDNIGHT - 1, MIDNIGHT, MIDNIGHT + 1), strict=True):
        fill["timestamp"] = timestamp
    publish(find("fills"), fills)
    publish(find("orders.state"), example_records(find("orders.state")))

    out = tmp_path / "logs"
    export(out)
    first = files(out)
    assert sorted(first) == [
        "fills/2024-08-08.jsonl",
        "fills/2024-08-09.jsonl",
        "orders.state/2024-08-08.jsonl",  # updated at 23:55:00.0031
    ]
    before, after = first["fills/2024-08-08.jsonl"], first["fills/2024-08-09.jsonl"]
    assert [jsonl.loads(line)["timestamp"] for line in before.decode().splitlines()] == [
        MIDNIGHT - 1
    ]
    assert [jsonl.loads(line)["report_id"] for line in after.decode().splitlines()] == [
        fills[1]["report_id"],
        fills[2]["report_id"],
    ]
    assert b'"quantity":"0.25"' in before  # a decimal, exact, as a string

    export(out)
    assert files(out) == first
