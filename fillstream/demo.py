"""The main job: a round trip of sample signals through Kafka on the embedded default.

Starts the local broker unless `KAFKA_BOOTSTRAP_SERVERS` names a cluster, provisions the
catalog's topics, publishes the sample signals, reads exactly those records back and checks
each one decodes to what was sent.
"""

from __future__ import annotations

import os
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from fillstream import settings
from fillstream.infra import broker, topics
from fillstream.schemas import examples_dir, jsonl
from fillstream.schemas.models import Signal
from fillstream.schemas.topics import CATALOG, find
from fillstream.topic_io import consume, end_offsets, make_producer, publish

__all__ = ["SAMPLE_SIGNALS", "run"]

SAMPLE_SIGNALS = examples_dir() / "signals.jsonl"


def _ensure_broker(console: Console) -> None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print(f"Kafka: [bold]{settings.bootstrap_servers()}[/] (KAFKA_BOOTSTRAP_SERVERS)")
        return
    status = broker.local_status()
    if not status.running:
        with console.status("Starting the local Kafka broker (first run downloads its jars)…"):
            status = broker.start_local()
    console.print(
        f"Kafka: local broker at [bold]{status.bootstrap_servers}[/], data in {status.data_dir}"
    )


def run(signals_file: Path = SAMPLE_SIGNALS, console: Console | None = None) -> bool:
    """Run the demo; True when every signal came back exactly as sent."""
    console = console or Console()

    signals, problems = jsonl.parse_records(Signal, signals_file.read_text())
    if problems:
        console.print(
            f"[red]{signals_file} has invalid signals; nothing was sent:[/]", soft_wrap=True
        )
        for problem in problems:
            console.print(f"  {problem}", soft_wrap=True)
        return False
    _ensure_broker(console)
    statuses = topics.ensure_topics(CATALOG)
    created = sum(status.outcome == "created" for status in statuses)
    console.print(f"Topics: {len(statuses)} in the catalog, {created} created now")

    spec = find("signals")
    start = end_offsets(spec)
    sent = publish(spec, (signal.model_dump() for signal in signals), make_producer())
    received = list(consume(spec, start=start, max_records=sent, idle_timeout=30))
    by_id = {signal.signal_id: signal for signal in signals}

    table = Table(
        title=f"Signals round trip through {spec.full_name}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("signal", "account", "symbol", "side", "qty", "type", "price", "tif", "at"):
        table.add_column(column, no_wrap=True)
    matched = 0
    for item in sorted(received, key=lambda item: (item.partition, item.offset)):
        if item.record is None:
            continue
        decoded = Signal.model_validate(item.record)
        same = by_id.get(decoded.signal_id) == decoded
        matched += same
        table.add_row(
            decoded.signal_id,
            decoded.account_id,
            decoded.symbol,
            decoded.side.value,
            str(decoded.quantity),
            decoded.order_type.value,
            str(decoded.price or "-"),
            decoded.time_in_force.value,
            f"{item.partition}/{item.offset}",
            style=None if same else "red",
        )
    console.print(table)
    total = sum(end_offsets(spec).values())
    ok = matched == len(signals) == len(received)
    verdict = "[green]all identical[/]" if ok else "[red]MISMATCH (red rows)[/]"
    console.print(
        f"Sent {sent}, read back {len(received)}, {matched} identical: {verdict}.\n"
        f"The signals topic holds {total} records (kept across broker restarts); "
        "'at' is partition/offset: signals are keyed by account."
    )
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print(
            "The broker keeps running: `fillstream tail signals --from-beginning`, "
            "`fillstream kafka stop` when done."
        )
    return ok
