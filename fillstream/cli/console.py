"""Where the commands write: results on stdout, errors and progress on stderr, and how a
command fails with a one-line error."""

from __future__ import annotations

import logging
import os

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

__all__ = ["console", "errors", "fail", "log_to_stderr", "spinner"]

console = Console()
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def spinner(text: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(text), console=errors, transient=True)


def log_to_stderr() -> None:
    """A processor's log: fillstream's own records from `FILLSTREAM_LOG_LEVEL` (INFO by
    default: partitions taken and restored, batching profiles, venues ready, alerts resolved;
    nothing per record), other libraries' from WARNING."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("fillstream").setLevel(os.environ.get("FILLSTREAM_LOG_LEVEL", "INFO"))
