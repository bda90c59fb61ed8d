"""`fillstream algos`: the execution algorithms' catalog and previews of a schedule."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fillstream.cli.console import console, errors
from fillstream.cli.options import positive_decimal

__all__ = ["app"]

app = typer.Typer(help="The execution algorithms: catalog and previews.", no_args_is_help=True)


@app.command("list")
def algos_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="The catalog as JSON, for programs.")
    ] = False,
) -> None:
    """Every execution algorithm with its parameters (type, required, default)."""
    from fillstream.streams.execution.algorithms.catalog import CATALOG

    if as_json:
        entries = [spec.describe() for spec in CATALOG.values()]
        print(json.dumps({"algorithms": entries}, indent=2))
        return
    for spec in CATALOG.values():
        table = Table(title=f"{spec.name} — {spec.display_name}", title_justify="left")
        for column in ("parameter", "type", "required", "default", "description"):
            table.add_column(column)
        for p in spec.parameters:
            table.add_row(
                p.name, p.kind.value, "yes" if p.required else "", p.default or "", p.description
            )
        console.print(spec.description)
        console.print(table)


@app.command("preview", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def algos_preview(
    context: typer.Context,
    algorithm: Annotated[str, typer.Argument(help="twap, vwap, pov, iceberg, ...")],
    quantity: Annotated[str, typer.Option(help="The parent's quantity.")],
    lot_size: Annotated[
        str, typer.Option(help="Round slices to whole lots of this size.")
    ] = "0.00000001",
    profile: Annotated[
        Path | None,
        typer.Option(help="VWAP: minute bars to build the volume profile from.", exists=True),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="VWAP: the order's start, ISO 8601 UTC (for the profile).")
    ] = None,
    volume_rate: Annotated[
        str | None, typer.Option(help="POV: the market's volume per second to assume.")
    ] = None,
    display_quantity: Annotated[str | None, typer.Option(help="Iceberg: the part shown.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The planned schedule of ALGORITHM for a parent of --quantity, before sending anything.

    The algorithm's own parameters follow as `--name value` (see `fillstream algos list`),
    e.g. `--duration-seconds 240 --interval-seconds 10`. Implementation shortfall takes the
    paper's units: `--sigma --eta --gamma --risk-aversion --horizon --periods`, the offsets then
    in the horizon's unit.
    """
    from datetime import datetime

    from fillstream.streams.execution.algorithms.preview import preview
    from fillstream.streams.execution.volume_profile import profile_from_file

    try:
        raw = _extra_options(context.args)
        start_us = 0
        if start is not None:
            start_us = int(datetime.fromisoformat(start).timestamp() * 1_000_000)
        slices = preview(
            algorithm,
            positive_decimal("--quantity", quantity),
            raw,
            lot=positive_decimal("--lot-size", lot_size),
            start_us=start_us,
            profile=None if profile is None else profile_from_file(profile),
            volume_rate=None
            if volume_rate is None
            else positive_decimal("--volume-rate", volume_rate),
            display_quantity=None
            if display_quantity is None
            else positive_decimal("--display-quantity", display_quantity),
        )
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        rows = ", ".join(
            f'{{"offset": {"null" if offset is None else _number(offset)}, '
            f'"quantity": {_number(size)}}}'
            for offset, size in slices
        )
        print(f'{{"slices": [{rows}]}}')
        return
    table = Table("slice", "offset", "quantity", "cumulative")
    cumulative = Decimal(0)
    for number, (offset, size) in enumerate(slices, start=1):
        cumulative += size
        shown = "on fill" if offset is None else _number(offset)
        table.add_row(str(number), shown, _number(size), _number(cumulative))
    console.print(table)


def _extra_options(args: list[str]) -> dict[str, str]:
    """`--name value` pairs after the known options, as algorithm parameters."""
    if len(args) % 2 or not all(name.startswith("--") for name in args[::2]):
        raise ValueError(f"algorithm parameters go as --name value pairs, got: {' '.join(args)}")
    return {
        name[2:].replace("-", "_"): value for name, value in zip(args[::2], args[1::2], strict=True)
    }


def _number(value: Decimal) -> str:
    """Exact plain notation, valid as a JSON number."""
    return format(value.normalize(), "f")
