"""`fillstream produce` and `fillstream tail`: records on a catalog topic, by hand."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, errors
from fillstream.cli.options import topic_spec
from fillstream.infra.topic_io import consume, publish
from fillstream.schemas import jsonl
from fillstream.schemas.models import MODELS

__all__ = ["produce", "tail"]


def produce(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. signals.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines, one record each; - for stdin.",
            allow_dash=True,
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Validate JSON lines against the topic's contract and publish them as Avro.

    Every line is checked first; if any is invalid, nothing is sent.
    """
    spec = topic_spec(topic)
    model = MODELS[spec.record]
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    records, problems = jsonl.parse_records(model, text)
    require_cluster()
    if problems:
        for problem in problems[:20]:
            errors.print(f"[red]{problem}[/]")
        more = f" (showing 20 of {len(problems)})" if len(problems) > 20 else ""
        errors.print(f"{len(problems)} invalid lines{more}; nothing was sent to {spec.full_name}.")
        raise typer.Exit(1)
    sent = publish(spec, (record.model_dump() for record in records))
    console.print(f"{sent} {spec.record} records → {spec.full_name}")


def tail(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. fills.")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest record.")
    ] = False,
    max_records: Annotated[int | None, typer.Option(help="Stop after this many records.")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many quiet seconds.")
    ] = None,
    meta: Annotated[
        bool, typer.Option("--meta", help="Wrap each record with partition, offset and key.")
    ] = False,
) -> None:
    """Print a topic's records as JSON lines (undecodable ones are reported on stderr)."""
    spec = topic_spec(topic)
    require_cluster()
    for item in consume(
        spec, from_beginning=from_beginning, max_records=max_records, idle_timeout=idle_timeout
    ):
        if item.error is not None:
            errors.print(
                f"partition {item.partition} offset {item.offset}: undecodable: {item.error}"
            )
            continue
        if meta:
            key = item.key.decode(errors="replace") if item.key is not None else None
            print(
                jsonl.dumps(
                    {
                        "partition": item.partition,
                        "offset": item.offset,
                        "key": key,
                        "value": item.record,
                    }
                )
            )
        else:
            print(jsonl.dumps(item.record), flush=True)
