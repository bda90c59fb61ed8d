"""`fillstream export`: topics to Parquet for analysts, or to JSON lines for ops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, errors
from fillstream.cli.options import topic_spec

__all__ = ["export_topics"]


def export_topics(
    topics: Annotated[
        list[str] | None,
        typer.Argument(
            help="Catalog names (default: tca, fills, orders.state, slices, market.quotes,"
            " market.trades; with --format jsonl: signals, orders.rejected, orders.state,"
            " slices, fills, commands).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the files.", file_okay=False)] = Path(
        "export"
    ),
    since: Annotated[
        str | None,
        typer.Option(
            help="Start at the first record stamped at or after this ISO time, e.g."
            " 2024-08-08T23:55:00Z (UTC unless it names an offset); default: from the beginning.",
            show_default=False,
        ),
    ] = None,
    file_format: Annotated[
        Literal["parquet", "jsonl"],
        typer.Option(
            "--format",
            help="parquet: a file per topic, for analysts. jsonl: JSON lines (decimals as"
            " strings, µs timestamps), transaction logs for ops.",
        ),
    ] = "parquet",
    daily: Annotated[
        bool,
        typer.Option(
            "--daily",
            help="With --format jsonl: a file per topic and UTC day of each record's event"
            " time (when it happened, not when the broker took it): OUT/TOPIC/YYYY-MM-DD.jsonl."
            " A re-run merges into the files there, each line once, so the same log gives the"
            " same bytes and lines the log has lost since stay.",
        ),
    ] = False,
) -> None:
    """Write topics to files from the beginning to where they end now, with progress.

    Parquet by default (docs/ANALYTICS.md); `--format jsonl --daily` for daily logs.
    """
    from datetime import UTC, datetime

    from fillstream.analytics.daylog import LOG_TOPICS, write_day_logs, write_topic_log
    from fillstream.analytics.export import DEFAULT_TOPICS, write_parquet
    from fillstream.analytics.export import export_topics as export
    from fillstream.connectors.feeds.events import microseconds_since_epoch
    from fillstream.schemas.topics import has_event_time

    jsonl_files = file_format == "jsonl"
    if daily and not jsonl_files:
        raise typer.BadParameter(
            "day files are JSON lines: add --format jsonl", param_hint="--daily"
        )
    specs = [topic_spec(name) for name in topics or (LOG_TOPICS if jsonl_files else DEFAULT_TOPICS)]
    untimed = [spec.name for spec in specs if daily and not has_event_time(spec.name)]
    if untimed:
        detail = f"no event time to date records by: {', '.join(untimed)}"
        raise typer.BadParameter(detail, param_hint="TOPICS")
    writer = write_parquet if not jsonl_files else write_day_logs if daily else write_topic_log
    since_us = None
    if since is not None:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter(f"not an ISO time: {since!r}", param_hint="--since") from None
        since_us = microseconds_since_epoch(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    require_cluster()
    try:
        exported = export(specs, out, console, since_us=since_us, writer=writer)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    for item in exported:
        skipped = f" ({item.undecodable} undecodable left out)" if item.undecodable else ""
        console.print(f"{item.records} records → {item.path}{skipped}")
