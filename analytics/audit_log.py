"""The audit's reading shell: the order-lifecycle topics, as they stand now, for `audit`.

Every topic is read up to the end offsets taken before the first read, one cut across
topics, so records written while the audit reads are left out of all of them. `signals` is
read whole: an order whose signal precedes the window is then known as out of range, and a
fill that traces back to no signal at all as an orphan. The other topics start at their first
record stamped at or after the window's start (the broker's time index, as `export --since`).
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fillstream.analytics.audit import AUDITED_TOPICS
from fillstream.analytics.audit_report import LogRecord, Where, Window
from fillstream.infra.topic_io import consume, end_offsets, start_offsets
from fillstream.infra.topics import admin_client, existing_partitions
from fillstream.schemas.topics import find

__all__ = ["read_log"]

# Quiet seconds after which a read gives up waiting for a partition's last record.
IDLE_TIMEOUT = 10.0


def read_log(
    console: Console, *, from_us: int | None = None, to_us: int | None = None
) -> tuple[list[LogRecord], Window]:
    """The audited topics' records, and the window of `signals` stamped in [from_us, to_us).

    Raises ValueError when a topic is not on the cluster.
    """
    specs = [find(topic) for topic in AUDITED_TOPICS]
    present = existing_partitions(admin_client())
    missing = [spec.full_name for spec in specs if spec.full_name not in present]
    if missing:
        raise ValueError(
            f"not on the cluster: {', '.join(missing)} (`fillstream topics create` makes them)"
        )
    signals = find("signals")
    window = Window(
        first=start_offsets(signals, from_us) if from_us is not None else {},
        end=start_offsets(signals, to_us) if to_us is not None else {},
    )
    ends = {spec.name: end_offsets(spec) for spec in specs}
    starts = {
        spec.name: start_offsets(spec, None if spec.name == "signals" else from_us)
        for spec in specs
    }
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
    )
    records: list[LogRecord] = []
    with Progress(*columns, console=console, transient=True) as progress:
        for spec in specs:
            start, end = starts[spec.name], ends[spec.name]
            total = sum(max(0, end[p] - start.get(p, 0)) for p in end)
            task = progress.add_task(spec.name, total=total)
            for item in consume(spec, start=start, end=end, idle_timeout=IDLE_TIMEOUT):
                where = Where(spec.name, item.partition, item.offset)
                error = None if item.error is None else str(item.error)
                records.append(LogRecord(where, item.record, error))
                progress.advance(task)
    return records, window
