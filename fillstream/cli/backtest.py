"""`fillstream backtest`: market data and signals through the cores, no Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fillstream.cli.console import console, errors

__all__ = ["backtest"]


def backtest(
    market_data: Annotated[
        Path,
        typer.Option(
            help="Recorded market data (Binance capture, Lean ticks or bars, FTX bars).",
            exists=True,
            dir_okay=False,
        ),
    ],
    signals: Annotated[
        Path, typer.Option(help="Signals as JSON lines.", exists=True, dir_okay=False)
    ],
    out: Annotated[Path, typer.Option(help="Where to write the results (JSON).")],
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
    commands: Annotated[
        Path | None,
        typer.Option(help="Operator commands (cancel, pause, ...) as JSON lines.", exists=True),
    ] = None,
) -> None:
    """Replay market data and signals through the pipeline's cores in one process (no Kafka).

    Writes one object per signal: order_id, signal_id, status, filled_quantity, average_price,
    commission and fills; a rejected signal carries its reason_code.
    """
    from fillstream.backtest import run_backtest

    try:
        run_backtest(market_data, signals, out, config, commands, console)
    except ValueError as error:  # ConfigError, unreadable signals, unsupported market data
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
