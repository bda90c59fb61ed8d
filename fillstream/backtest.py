"""`fillstream backtest`: the replay harness over files, with progress and a summary.

A signal naming an instrument the configuration does not list would be refused
(`UNKNOWN_INSTRUMENT`), every order of a recording from an unconfigured market with it. So
before replaying, the backtest reads the start of the recording (`PEEK_EVENTS`, replayed after)
and says which `[[venues]]` and `[[instruments]]` tables would list what those signals name,
with the tick and lot sizes the recorded prices and quantities imply
(`connectors.feeds.listings`).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fillstream.config import EngineConfig, load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.listings import ObservedListing, observe_listings
from fillstream.replay import run_replay
from fillstream.schemas import jsonl
from fillstream.schemas.models import Command

__all__ = ["PEEK_EVENTS", "listing_hint", "read_signals", "run_backtest", "unlisted"]

PEEK_EVENTS = 20_000
# An instrument as a signal names it: (exchange, or None for any venue; symbol).
NamedInstrument = tuple[str | None, str]


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
    recorded: Iterable[MarketEvent] = load(market_data)
    refused = unlisted(config, signals)
    if refused:
        ahead = list(itertools.islice(recorded, PEEK_EVENTS))
        hint = listing_hint(config, refused, observe_listings(ahead))
        console.print(hint, markup=False, highlight=False)
        recorded = itertools.chain(ahead, recorded)
    columns = (SpinnerColumn(), TextColumn("{task.description} {task.completed:,} events"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("replaying", total=None)
        events = _counted(iter(recorded), progress, task)
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


def unlisted(
    config: EngineConfig, signals: Iterable[Mapping[str, Any]]
) -> Counter[NamedInstrument]:
    """What signals name that no configured venue lists, as (exchange or None, symbol), with
    how many signals name each: what risk would refuse as `UNKNOWN_INSTRUMENT`."""
    refused: Counter[NamedInstrument] = Counter()
    for signal in signals:
        exchange, symbol = signal.get("exchange"), signal.get("symbol")
        if not isinstance(symbol, str) or not isinstance(exchange, str | None):
            continue  # not a signal: the risk stage says so
        if not config.risk.listings(exchange, symbol):
            refused[exchange, symbol] += 1
    return refused


def listing_hint(
    config: EngineConfig,
    refused: Mapping[NamedInstrument, int],
    observed: Mapping[tuple[str, str], ObservedListing],
) -> str:
    """What to add to the configuration so that the `refused` instruments are listed: the
    tables of the recorded venues and symbols they name (by symbol, or by venue where a signal
    names one), with the steps the recording shows; and which of them it does not trade."""
    lines = [
        "Signals name instruments the configuration does not list: risk will refuse their"
        " orders (UNKNOWN_INSTRUMENT)."
    ]
    named_venues = {exchange for exchange, _ in refused if exchange is not None}
    named_symbols = {symbol for _, symbol in refused}
    for exchange, symbol in sorted(refused, key=lambda named: (named[1], named[0] or "")):
        count, where = refused[exchange, symbol], exchange or "any venue"
        traded = any(listed == symbol for _, listed in observed)
        absent = "" if traded else "; the market data does not trade it"
        lines.append(f"  {count} signal{'s' * (count > 1)}: {symbol} on {where}{absent}")
    wanted = [
        listing
        for (venue, symbol), listing in sorted(observed.items())
        if (venue in named_venues or symbol in named_symbols)
        and config.instruments.get(venue, symbol) is None
    ]
    if not wanted:
        carried = ", ".join(f"{symbol} on {venue}" for venue, symbol in sorted(observed))
        lines.append(f"The market data trades {carried or 'nothing'}.")
        return "\n".join(lines)
    lines.append(
        "Add these tables to the configuration (--config FILE; the shipped one is"
        " fillstream/engine.toml), with values read from the market data:"
    )
    for venue in sorted({listing.venue for listing in wanted} - set(config.venues)):
        lines += [
            "",
            "[[venues]]",
            f'name = "{venue}"  # fees, latency: not in the data (0 unless set)',
        ]
    for listing in wanted:
        lines += ["", "[[instruments]]", f'venue = "{listing.venue}"']
        lines.append(f'symbol = "{listing.symbol}"')
        lines.append(_size("tick_size", listing.tick_size, len(listing.prices), "prices"))
        lines.append(_size("lot_size", listing.lot_size, len(listing.quantities), "quantities"))
    lines += [
        "",
        "A venue's tick and lot divide the prices and quantities it trades, so each size above"
        " (the largest step that the values read share, but for one in a thousand at most) is"
        " the venue's, or a coarser one: check it against the venue's rules.",
    ]
    return "\n".join(lines)


def _size(name: str, step: Decimal | None, seen: int, values: str) -> str:
    if step is None:
        return f'# {name} = "?"  # no {values} in the data read'
    return f'{name} = "{step:f}"  # the step of the {seen:,} {values} read'
