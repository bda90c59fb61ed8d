"""`fillstream backtest`: the replay harness over files, with progress and a summary."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fillstream.config import load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.schemas import jsonl
from fillstream.schemas.models import Command
from fillstream.streams.replay import run_replay

__all__ = ["read_signals", "run_backtest"]


def read_signals(path: Path) -> list[dict[str, Any]]:
    """Signals as decoded JSON objects; contract errors are the risk stage's to report."""
    signals = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            signal = jsonl.loads(line)
        except ValueError as error:
            raise ValueError(f"{path} line {number} is not JSON: {error}") from None
        if not isinstance(signal, dict):
            raise ValueError(f"{path} line {number} is not a JSON object")
        signals.append(signal)
    return signals


def _counted(events: Iterator[MarketEvent], progress: Progress, task: Any) -> Iterator[MarketEvent]:
    for count, event in enumerate(events, start=1):
        if count % 5000 == 0:
            progress.update(task, completed=count)
        yield event


def run_backtest(
    market_data: Path,
    signals_path: Path,
    out: Path,
    config_path: Path | None = None,
    commands_path: Path | None = None,
    console: Console | None = None,
) -> list[dict[str, Any]]:
    console = console or Console()
    config = load_config(config_path)
    signals = read_signals(signals_path)
    commands: list[Command] = []
    if commands_path is not None:
        commands, problems = jsonl.parse_records(Command, commands_path.read_text())
        if problems:
            raise ValueError(f"{commands_path}: " + "; ".join(problems))
    columns = (SpinnerColumn(), TextColumn("{task.description} {task.completed:,} events"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=None)
        events = _counted(load(market_data), progress, task)
        replay = run_replay(config, events, signals, commands)
    results = replay.results()
    out.write_text(json.dumps(json.loads(jsonl.dumps(results)), indent=2) + "\n")
    _summarise(results, console)
    console.print(f"{len(results)} results → {out}")
    return results


def _summarise(results: list[dict[str, Any]], console: Console) -> None:
    statuses = Counter(result["status"] for result in results)
    reasons = Counter(r["reason_code"] for r in results if "reason_code" in r)
    table = Table(title="Backtest")
    table.add_column("status")
    table.add_column("orders", justify="right")
    table.add_column("fills", justify="right")
    for status, count in sorted(statuses.items()):
        fills = sum(len(r["fills"]) for r in results if r["status"] == status)
        table.add_row(status, str(count), str(fills))
    console.print(table)
    for reason, count in sorted(reasons.items()):
        console.print(f"  rejected {count} × {reason}")
