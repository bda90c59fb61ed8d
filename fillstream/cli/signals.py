"""`fillstream signals`: publish trade signals from a file.

Built and published by `fillstream.control`, as the API does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from fillstream import control
from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, errors, fail

__all__ = ["app"]

app = typer.Typer(help="Publish trade signals.", no_args_is_help=True)


_BATCH = 500  # signals per publish call: the progress bar moves once per batch


@app.command("publish")
def signals_publish(
    file: Annotated[
        Path,
        typer.Argument(
            help="Signals as .csv (a header of field names) or JSON lines; - for stdin (JSON).",
            allow_dash=True,
            exists=True,
            dir_okay=False,
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Send nothing if any line is invalid.")
    ] = False,
) -> None:
    """Validate every signal of FILE and publish the valid ones on `signals`.

    Each signal needs its own signal_id (sending the file again then makes no new orders);
    a missing created_at is the time of sending. Invalid lines are listed by number; the
    exit code is 1 if there were any.
    """
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    signals, problems = control.parse_signal_file(
        text, file.suffix.lower() == ".csv", control.stamp()
    )
    for problem in problems[:20]:
        errors.print(f"[red]{problem}[/]", highlight=False)
    if len(problems) > 20:
        errors.print(f"... and {len(problems) - 20} more invalid lines")
    if problems and strict:
        raise fail(f"{len(problems)} invalid lines; nothing was sent (--strict)", 1)
    require_cluster()
    sent = 0
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("signals", total=len(signals))
        for start in range(0, len(signals), _BATCH):
            batch = [signal for _, signal in signals[start : start + _BATCH]]
            sent += control.publish_signals(batch)
            progress.advance(task, len(batch))
    console.print(f"{sent} signals published, {len(problems)} invalid lines")
    if problems:
        raise typer.Exit(1)
