"""`fillstream demo`: the main job on the local broker, with a summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from fillstream.cli.console import console, errors
from fillstream.infra.jars import BrokerSetupError

__all__ = ["demo"]


def demo(
    market_data: Annotated[
        Path | None,
        typer.Option(
            help="Recorded market data (default: a synthetic BTC/USDT market).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    signals: Annotated[
        Path | None,
        typer.Option(
            help="Signals as JSON lines (default: a set for the chosen market).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run the main job: broker, topics, every processor, market data and signals, a summary."""
    from fillstream.demo import run

    try:
        ok = run(market_data, signals, console)
    except (BrokerSetupError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print("The broker keeps running (`fillstream kafka stop` stops it).")
    if not ok:
        raise typer.Exit(1)
