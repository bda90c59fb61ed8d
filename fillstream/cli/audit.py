"""`fillstream audit`: replay the order-lifecycle topics and check every order's invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fillstream.analytics.audit_report import AuditReport
from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, errors

__all__ = ["audit"]

_TIME_HELP = "an ISO time, e.g. 2024-08-08T23:55:00Z (UTC unless it names an offset)"


def audit(
    from_time: Annotated[
        str | None,
        typer.Option(
            "--from",
            help=f"Audit the orders whose signal is stamped at or after this time: {_TIME_HELP};"
            " default: from the beginning.",
            show_default=False,
        ),
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to",
            help=f"Audit the orders whose signal is stamped before this time: {_TIME_HELP};"
            " default: up to now.",
            show_default=False,
        ),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the report to this file.", dir_okay=False),
    ] = None,
) -> None:
    """Rebuild every order from the log and check its invariants; exit 1 on a violation.

    Fills within the order's quantity, legal state transitions, positions equal to the sum of
    fills, unique client order ids, every fill traced back to a signal (see docs/AUDIT.md)."""
    from fillstream.analytics.audit import audit as check
    from fillstream.analytics.audit_log import read_log

    from_us, to_us = _moment(from_time, "--from"), _moment(to_time, "--to")
    require_cluster()
    try:
        records, window = read_log(console, from_us=from_us, to_us=to_us)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    report = check(records, window)
    _print(report, console)
    if json_file is not None:
        json_file.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    raise typer.Exit(0 if report.passed else 1)


def _moment(text: str | None, option: str) -> int | None:
    """An ISO time as µs since the epoch, UTC when it names no offset."""
    from fillstream.connectors.feeds.events import microseconds_since_epoch

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO time: {text!r}", param_hint=option) from None
    return microseconds_since_epoch(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _print(report: AuditReport, console: Console) -> None:
    summary = Table(title="Audit", show_header=False)
    summary.add_column("what")
    summary.add_column("count", justify="right")
    rows = {
        "orders audited": report.orders,
        "  still working": report.working,
        "execution reports": report.reports,
        "  with a fill": report.fills,
        "redelivered copies": sum(report.redelivered.values()),
        "records out of range": sum(report.out_of_range.values()),
        "records read": sum(report.read.values()),
        "violations": len(report.violations),
    }
    for what, count in rows.items():
        summary.add_row(what, str(count))
    console.print(summary)
    if report.passed:
        console.print("[green]The log keeps every invariant.[/]")
        return
    by_rule = Table(title="Violations by rule")
    by_rule.add_column("rule")
    by_rule.add_column("count", justify="right")
    for rule, count in sorted(report.by_rule().items()):
        by_rule.add_row(rule, str(count))
    console.print(by_rule)
    for violation in report.violations:
        ids = " ".join(f"{name}={value}" for name, value in violation.ids.items())
        console.print(
            f"[red]{violation.rule.value}[/] at {violation.where}: {escape(violation.message)}"
            + (f" [dim]({escape(ids)})[/]" if ids else ""),
            soft_wrap=True,
            highlight=False,
        )
