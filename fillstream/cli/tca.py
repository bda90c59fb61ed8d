"""`fillstream tca`: ad-hoc analysis of an order, summaries and reports of an export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fillstream.cli.console import console, errors

__all__ = ["app"]

app = typer.Typer(
    help="Transaction cost analysis: ad-hoc analysis, summaries and reports.", no_args_is_help=True
)


@app.command("analyze")
def tca_analyze(
    file: Annotated[
        Path,
        typer.Argument(
            help="The order as JSON: side, quantity, prices, fees, fills, optional market data"
            " (format in docs/TCA.md).",
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Implementation shortfall, benchmarks, spreads and markouts of one order, as JSON.

    Currency amounts are exact decimal strings, bps and ratios numbers; positive cost = bad.
    """
    from fillstream.analytics.adhoc import InvalidOrder, analyze_text

    try:
        print(analyze_text(file.read_text()))
    except InvalidOrder as error:
        errors.print(f"[bold red]{file} cannot be analysed:[/]\n{error}", highlight=False)
        raise typer.Exit(2) from None


@app.command("summary")
def tca_summary(
    by: Annotated[str, typer.Option(help="day, venue, algorithm or strategy.")] = "algorithm",
    data: Annotated[Path, typer.Option(help="An export (`fillstream export`).")] = Path("export"),
) -> None:
    """Execution quality per day, venue, algorithm or strategy, from an export's tca topic."""
    import polars as pl

    from fillstream.analytics.aggregate import figure_text, summarise
    from fillstream.analytics.export import parquet_path

    path = parquet_path(data, "tca")
    if not path.is_file():
        errors.print(f"[red]No {path}.[/] Export topics first: `fillstream export --out {data}`")
        raise typer.Exit(2)
    try:
        summary = summarise(pl.read_parquet(path), by)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(title=f"TCA by {by} (bps; positive = cost)")
    for column in summary.columns:
        table.add_column(column.replace("_", " "), justify="left" if column == by else "right")
    for row in summary.iter_rows():
        table.add_row(*map(figure_text, row))
    console.print(table)


@app.command("report")
def tca_report(
    data: Annotated[Path, typer.Option(help="An export (`fillstream export`).")] = Path("export"),
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    max_orders: Annotated[
        int, typer.Option(help="Orders charted one by one (beyond: the worst and the best).")
    ] = 12,
) -> None:
    """One self-contained HTML page: summary, cost distributions, per-order charts."""
    from fillstream.analytics.report import write_report

    try:
        write_report(data, out, max_orders=max_orders)
    except FileNotFoundError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"Report written to {out}")
