"""Transaction logs for ops: a topic's records as JSON lines, one file per UTC day.

`fillstream export --format jsonl --daily` writes `<out>/<topic>/<YYYY-MM-DD>.jsonl`: each
record of the topic's Avro contract as one JSON line (`schemas/jsonl.py`: decimals as exact
strings, timestamps as µs since the epoch, enums as their names), under the UTC day of its
**event time** (`schemas.topics.event_time`: when the record happened, e.g. a fill's
`timestamp`, an order state's `updated_at`), not of the time the broker took it. Without
`--daily`, a topic's lines go to one file, `<out>/<topic>.jsonl`.

Lines are ordered by event time, then by their text, so the same records always make the
same bytes whatever the order partitions were read in.

**A re-run merges.** Each day the log holds is rewritten with the lines its file already
held and the log's, each line once: running the export twice gives the same files, a record
published again after a crash (equal to the first, docs/ARCHITECTURE.md) is one line, and a
record the log has lost since (retention, compaction of `orders.state`) stays in the file.
Days the log no longer holds are left as they are. A file whose content would not change is
not touched; one that changes is written beside it and renamed over it, so a reader never
sees half a day.

`day_lines` and `day_text` are the pure core; `write_day_logs` and `write_topic_log` are the
file shell that `export_topics` calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fillstream.analytics.export import replace_whole
from fillstream.schemas import jsonl
from fillstream.schemas.topics import TopicSpec, event_time

__all__ = [
    "LOG_TOPICS",
    "dated_lines",
    "day_lines",
    "day_text",
    "utc_day",
    "write_day_logs",
    "write_topic_log",
]

# What ops look back at: what was asked, refused, sent and filled, and each order's states.
LOG_TOPICS = ("signals", "orders.rejected", "orders.state", "slices", "fills", "commands")

# A line and its event time (µs UTC): the time orders the lines of a file.
Dated = tuple[int, str]


def utc_day(timestamp_us: int) -> str:
    """The UTC calendar day of a µs timestamp, as `YYYY-MM-DD`."""
    return datetime.fromtimestamp(timestamp_us // 1_000_000, UTC).date().isoformat()


def dated_lines(topic: str, records: Iterable[Mapping[str, Any]]) -> Iterable[Dated]:
    """Each record as a JSON line with its event time."""
    for record in records:
        yield event_time(topic, record, 0), jsonl.dumps(record)


def day_lines(topic: str, records: Iterable[Mapping[str, Any]]) -> dict[str, set[Dated]]:
    """The records' lines by the UTC day of their event time, each line once."""
    days: dict[str, set[Dated]] = defaultdict(set)
    for dated in dated_lines(topic, records):
        days[utc_day(dated[0])].add(dated)
    return dict(days)


def day_text(lines: Iterable[Dated]) -> str:
    """A file's text: the lines in event-time order, then by text, each once."""
    return "".join(f"{line}\n" for _, line in sorted(set(lines)))


def write_day_logs(spec: TopicSpec, records: Iterable[dict[str, Any]], directory: Path) -> Path:
    """`<directory>/<topic>/<day>.jsonl` for each day the records fall on, merged with the
    file already there (see the module docstring); returns the topic's directory. The topic's
    records must carry an event time (`has_event_time`)."""
    folder = directory / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    for day, lines in sorted(day_lines(spec.name, records).items()):
        _merge(spec.name, folder / f"{day}.jsonl", lines)
    return folder


def write_topic_log(spec: TopicSpec, records: Iterable[dict[str, Any]], directory: Path) -> Path:
    """`<directory>/<topic>.jsonl`: every record in one file, merged as a day is."""
    path = directory / f"{spec.name}.jsonl"
    _merge(spec.name, path, set(dated_lines(spec.name, records)))
    return path


def _merge(topic: str, path: Path, lines: set[Dated]) -> None:
    """Rewrite `path` with its lines and `lines`, unless that changes nothing. A held line is
    kept as written: parsing and writing it again could change it (a double read back is a
    decimal)."""
    held = path.read_text() if path.exists() else ""
    kept = {(event_time(topic, jsonl.loads(line), 0), line) for line in held.splitlines()}
    text = day_text(lines | kept)
    if text != held:
        replace_whole(path, lambda partial: partial.write_text(text))
