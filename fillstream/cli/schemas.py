"""`fillstream schemas`: the Avro contracts and their versions."""

from __future__ import annotations

import typer
from rich.table import Table

from fillstream.cli.console import console
from fillstream.schemas.contracts import contract, known_versions
from fillstream.schemas.history import freeze
from fillstream.schemas.topics import CATALOG

__all__ = ["app"]

app = typer.Typer(help="The Avro contracts and their versions.", no_args_is_help=True)


@app.command("list")
def schemas_list() -> None:
    """Every topic contract with its current version and fingerprint."""
    table = Table(title="Contracts")
    for column in ("contract", "topic", "version", "fingerprint (CRC-64-AVRO)", "frozen versions"):
        table.add_column(column)
    for spec in CATALOG:
        current = contract(spec.record)
        frozen = [v.version for v in known_versions(spec.record)]
        table.add_row(
            spec.record, spec.name, str(current.version), current.fingerprint.hex(), str(frozen)
        )
    console.print(table)


@app.command("freeze")
def schemas_freeze() -> None:
    """Record each changed contract as a new version, after checking old records still decode."""
    for spec in CATALOG:
        outcome = freeze(spec.record)
        if outcome:
            console.print(f"[green]froze[/] {outcome}")
    console.print("Every contract's current version is frozen.")
