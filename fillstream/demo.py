"""The main job: the whole pipeline on Kafka, fed with market data and a set of signals.

Starts the local broker unless `KAFKA_BOOTSTRAP_SERVERS` names a cluster, provisions the
catalog's topics, starts every processor, replays market data (a synthetic BTC/USDT market by
default, or a recording), publishes signals among it in time order, cancels what is still
open when the market data ends (the session closes), waits until every order is final and
its TCA published (a clock tick moves event time past the last markout horizon), and prints a
summary with each order's arrival slippage and implementation shortfall, and the allocation of
its group signal over three accounts (fillstream/demo_accounts.toml, added to the shipped
configuration for the run), with each account's size and adjustments. A processor that dies
mid-run (a crash, a `kill -9`) is started again as under `fillstream up` (fillstream/restarts.py),
with a line saying so; it resumes from its changelog, so the run ends as it would have. Each run
is a pipeline of its own, under a topic prefix of its own (after `FILLSTREAM_TOPIC_PREFIX`, if
set), and deletes the earlier runs'.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from fillstream import settings
from fillstream.backtest import read_signals
from fillstream.cluster_acls import grant_on_local_broker
from fillstream.config import DEFAULT_CONFIG, load_config
from fillstream.connectors.feeds import MarketEvent, load
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.domain.ids import order_id_for
from fillstream.domain.instruments import InstrumentBook
from fillstream.infra import demo_broker, topics
from fillstream.pipeline import Pipeline, Watcher, delete_run, feed, tick
from fillstream.processors import running
from fillstream.restarts import RestartPolicy, RestartReport
from fillstream.schemas import examples_dir
from fillstream.schemas.models import TERMINAL, Command, CommandKind
from fillstream.schemas.topics import CATALOG

__all__ = [
    "DEMO_ACCOUNTS",
    "SAMPLE_SIGNALS",
    "allocation_summary",
    "demo_signals",
    "earlier_runs",
    "ensure_broker",
    "orders_summary",
    "run",
    "with_accounts",
]

SAMPLE_SIGNALS = examples_dir() / "signals.jsonl"
DEMO_ACCOUNTS = Path(__file__).with_name("demo_accounts.toml")
SECOND = 1_000_000
WATCHED = [spec.name for spec in CATALOG if spec.name != "metrics"]


def demo_signals(start_us: int, price: Decimal) -> list[dict[str, Any]]:
    """Every order type, a bracket and two execution algorithms on the synthetic market, plus
    signals risk must refuse."""

    def signal(n: int, at: int, **fields: Any) -> dict[str, Any]:
        base = {
            "signal_id": f"d{start_us // SECOND % 100_000:05d}-{n:02d}",
            "strategy_id": "demo",
            "account_id": "acct-demo",
            "symbol": "BTC/USDT",
            "side": "buy",
            "quantity": "0.05",
            "order_type": "market",
            "decision_price": str(price),
            "created_at": start_us + at * SECOND,
        }
        return base | fields

    # ±2 bps: within reach of a minute of BTC at 50% annual volatility (σ ≈ 7 bps).
    below, above = price * Decimal("0.9998"), price * Decimal("1.0002")
    return [
        signal(1, 5, time_in_force="IOC"),
        signal(2, 10, side="sell", quantity="0.02"),
        signal(3, 15, order_type="limit", price=f"{below:.2f}"),
        signal(4, 15, side="sell", order_type="limit", price=f"{above:.2f}"),
        signal(5, 20, order_type="limit", price=f"{above:.2f}", time_in_force="IOC"),
        signal(6, 20, quantity="9", order_type="limit", price=f"{price:.2f}", time_in_force="FOK"),
        signal(7, 25, side="sell", order_type="stop", stop_price=f"{below:.2f}"),
        signal(
            8,
            25,
            quantity="0.3",
            order_type="iceberg",
            price=f"{price:.2f}",
            display_quantity="0.05",
        ),
        # a bracket: as the buy fills, a take-profit 2 bps above and a stop-loss 2 bps below
        signal(15, 5, take_profit=f"{above:.2f}", stop_loss=f"{below:.2f}"),
        signal(9, 30, order_type="limit"),  # no price: INVALID_SIGNAL
        signal(10, 30, quantity="50"),  # over the 10 BTC per order limit
        signal(11, 30, symbol="DOGE/USDT"),  # no venue lists it
        # to the group: 0.1 split 20 : 30 : 50 over fund-a, fund-b, fund-c
        signal(14, 12, account_id="desk", quantity="0.1", allocation_group="funded"),
        signal(
            12,
            5,
            quantity="0.2",
            algorithm="twap",
            algorithm_parameters={"duration_seconds": "30", "interval_seconds": "5"},
        ),
        signal(
            13,
            10,
            side="sell",
            quantity="0.05",
            algorithm="pov",
            algorithm_parameters={"participation_rate": "0.2"},
        ),
    ]


def with_accounts(directory: Path, extra: str = "") -> Path:
    """The shipped configuration with the demo's accounts and group (and `extra`), written to
    `directory`: the shipped one declares no group, so that a pipeline without accounts runs
    no allocator."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "engine.toml"
    path.write_text(DEFAULT_CONFIG.read_text() + DEMO_ACCOUNTS.read_text() + extra)
    return path


def ensure_broker(console: Console) -> None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        console.print(f"Kafka: [bold]{settings.bootstrap_servers()}[/] (KAFKA_BOOTSTRAP_SERVERS)")
        return
    status = demo_broker.local_status()
    if not status.running:
        with console.status("Starting the local Kafka broker (first run downloads its jars)…"):
            status = demo_broker.start_local()
    console.print(f"Kafka: local broker at [bold]{status.bootstrap_servers}[/]")


def _closing_cancels(watcher: Watcher, end_us: int) -> list[Command]:
    """End of session: cancel every order still working."""
    latest: dict[str, Mapping[str, Any]] = {}
    for state in watcher.records["orders.state"]:
        latest[state["order_id"]] = state
    return [
        Command(
            command_id=f"{order_id}:session-close",
            kind=CommandKind.CANCEL,
            order_id=order_id,
            symbol=state["symbol"],
            reason="session closed",
            issued_by="demo",
            created_at=end_us,
        )
        for order_id, state in latest.items()
        if state["status"] not in TERMINAL
    ]


def run(
    market_data: Path | None = None,
    signals_file: Path | None = None,
    console: Console | None = None,
    log_dir: Path | None = None,
) -> bool:
    """Run the pipeline demo; True when every order ended and nothing was dead-lettered."""
    console = console or Console()
    market: Iterable[MarketEvent]
    if market_data is None:
        start = (time.time_ns() // 1000 // SECOND) * SECOND
        params = replace(SyntheticParams(), start=start, duration_us=60 * SECOND)
        market = list(synthetic_events(params, seed=7))
        signals = demo_signals(start, params.initial_price)
        described = f"a synthetic BTC/USDT market ({len(market):,} events, 60 s)"
    else:
        market = list(load(market_data))
        signals = read_signals(SAMPLE_SIGNALS)  # timed for the BTCUSDT capture's minutes
        described = f"{market_data.name} ({len(market):,} events)"
    if signals_file is not None:
        signals = read_signals(signals_file)
    end_us = max(event.timestamp for event in market)

    ensure_broker(console)
    base = settings.topic_prefix()
    prefix = base + _new_run_prefix()
    config = with_accounts(settings.state_dir() / "demo")
    with settings.environment({"FILLSTREAM_TOPIC_PREFIX": prefix}):
        _forget_earlier_runs(base, prefix, console)
        records = _run_pipeline(market, signals, described, end_us, console, log_dir, config)
    ok = orders_summary(records, signals, load_config(config).instruments, console)
    allocation_summary(records, console)
    console.print(
        f"Its records stay on the broker under the topic prefix {prefix} (the next demo deletes "
        "them), e.g.: "
        f"FILLSTREAM_TOPIC_PREFIX={prefix} .venv/bin/fillstream tail orders.state "
        "--from-beginning --idle-timeout 2",
        highlight=False,
    )
    return ok


# Each demo is a pipeline of its own under a topic prefix of its own, so that a run never meets
# the memory of an earlier one: event time would go back (each run's market starts now, an
# earlier one's last clock tick passed its orders' markout horizon), and a recording's signal
# ids would repeat.
_RUN = r"demo-\d{8}-\d{6}-[0-9a-f]{4}\."


def _new_run_prefix() -> str:
    return f"demo-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.urandom(2).hex()}."


def earlier_runs(topic_names: Iterable[str], base: str, current: str) -> list[str]:
    """The prefixes of the demo runs under `base` that `topic_names` hold, but `current`'s."""
    run = re.compile(f"^({re.escape(base)}{_RUN})")  # a run's topics start with its prefix
    found = {match.group(1) for name in topic_names if (match := run.search(name)) is not None}
    return sorted(found - {current})


def _forget_earlier_runs(base: str, current: str, console: Console) -> None:
    """Delete the topics, consumer groups and processor state of earlier demo runs under the
    topic prefix `base`."""
    names = topics.admin_client().list_topics(timeout=30).topics
    for prefix in earlier_runs(names, base, current):
        with console.status(f"Deleting the earlier demo run {prefix}…"):
            deleted, failures = delete_run(prefix)
        console.print(f"Deleted the earlier demo run {prefix} ({deleted} topics)", highlight=False)
        for failure in failures:
            console.print(f"[red]Not deleted:[/] {failure}", highlight=False)


def _run_pipeline(
    market: Iterable[MarketEvent],
    signals: list[dict[str, Any]],
    described: str,
    end_us: int,
    console: Console,
    log_dir: Path | None,
    config: Path,
) -> Mapping[str, list[dict[str, Any]]]:
    """Start the processors, feed the market data, signals and closing cancels, wait for every
    order's end and TCA, and stop: the records the pipeline wrote."""
    grant_on_local_broker(load_config(config))  # on the secured local broker: each role's ACLs
    created = sum(s.outcome == "created" for s in topics.ensure_topics(CATALOG))
    console.print(f"Topics: {len(CATALOG)} in the catalog, {created} created now")
    watcher = Watcher(WATCHED, from_end=True, processors=running(load_config(config)))
    pipeline = Pipeline(
        config=config,
        log_dir=log_dir or settings.state_dir() / "logs",
        restart_policy=RestartPolicy(),
        on_restart=RestartReport(lambda line: console.print(line, highlight=False)),
    )
    pipeline.start()
    console.print(f"Processors: {', '.join(pipeline.processes)} (logs in {pipeline.log_dir})")
    try:
        with console.status(f"Replaying {described} with {len(signals)} signals…"):
            feed(market, signals, watcher=watcher, pipeline=pipeline)
            watcher.settle(timeout=120, pipeline=pipeline)
            closing = _closing_cancels(watcher, end_us + 1)
            feed((), (), closing, watcher=watcher, pipeline=pipeline)
            tick(end_us + SECOND)  # lets the cancels reach the venues after the last market data
            watcher.settle(timeout=120, pipeline=pipeline)
            tick(end_us + SECOND + load_config().tca.horizons.longest_us)  # TCA's last markouts
            watcher.settle(timeout=120, pipeline=pipeline)
    finally:
        pipeline.stop()
        watcher.close()
    return watcher.records


def orders_summary(
    records: Mapping[str, list[dict[str, Any]]],
    signals: list[dict[str, Any]],
    instruments: InstrumentBook,
    console: Console,
) -> bool:
    """Each signal's order: what it was, how it ended, its average price (to the tick of the
    finest venue listing it) and its TCA (bps to one decimal); then the rejections and totals.
    True when every order ended and was measured, and nothing was dead-lettered. Text columns
    wrap before a number is cut, so the table reads whole at 80 columns."""
    states: dict[str, dict[str, Any]] = {}
    for state in records["orders.state"]:
        states[state["order_id"]] = state
    tca = {result["order_id"]: result for result in records["tca"]}
    fills = Counter(r["order_id"] for r in records["fills"] if r["last_quantity"] > 0)
    table = _table(
        "Orders",
        "TCA in bps, positive = cost: slip = average price against the arrival mid,"
        " IS = implementation shortfall against the decision price",
    )
    for column in ("signal", "type", "side"):
        table.add_column(column, overflow="fold")
    table.add_column("qty", justify="right", no_wrap=True)
    table.add_column("status", overflow="fold")
    for column in ("filled", "fills", "avg", "slip", "IS"):
        table.add_column(column, justify="right", no_wrap=True)
    for signal in signals:
        state = states.get(order_id_for(str(signal.get("signal_id", ""))))
        if state is None:
            continue
        result = tca.get(state["order_id"], {})
        table.add_row(
            str(signal.get("signal_id")),
            state["algorithm"] or state["order_type"],
            state["side"],
            _quantity(state["quantity"]),
            state["status"].replace("_", " "),
            _quantity(state["filled_quantity"]),
            str(fills.get(state["order_id"], 0)),
            _price(state["average_price"], _tick(instruments, state["symbol"])),
            _bps(result.get("arrival_slippage_bps")),
            _bps(result.get("total_cost_bps")),
        )
    console.print(table)
    reasons = Counter(r["reason_code"] for r in records["orders.rejected"])
    for reason, count in sorted(reasons.items()):
        console.print(f"  rejected: {count} × {reason}")
    unfinished = [s for s in states.values() if s["status"] not in TERMINAL]
    approved = {p["order_id"] for p in records["orders.approved"]}
    dead = records["deadletter"]
    console.print(
        f"{len(states)} orders, {sum(fills.values())} fills, {len(unfinished)} not final, "
        f"{len(dead)} dead letters, TCA for {len(approved & tca.keys())} of {len(approved)}"
        " approved orders."
    )
    return not unfinished and not dead and approved <= tca.keys()


def allocation_summary(records: Mapping[str, list[dict[str, Any]]], console: Console) -> None:
    """Each group signal's allocation, and each failover's: every account's size and what
    became of its child, then, under the table, the adjustments that made each size."""
    states = {state["signal_id"]: state for state in records["orders.state"]}
    for rationale in records["allocations"]:
        what = (
            f"failover of {rationale['failover_of']}"
            if rationale.get("failover_of")
            else f"{rationale['side']} {_quantity(rationale['quantity'])} {rationale['symbol']}"
        )
        table = _table(
            f"Allocation of {rationale['signal_id']} ({what}) over group"
            f" {rationale['allocation_group']}: {_quantity(rationale['allocated'])} allocated",
            "; ".join(rationale["notes"]) or None,
        )
        for column in ("account", "state"):
            table.add_column(column, overflow="fold")
        for column in ("capacity", "weight", "qty"):
            table.add_column(column, justify="right", no_wrap=True)
        table.add_column("child", overflow="fold")
        table.add_column("filled", justify="right", no_wrap=True)
        table.add_column("status", overflow="fold")
        adjustments = Table.grid(padding=(0, 1))
        adjustments.add_column(no_wrap=True)
        adjustments.add_column()
        for line in rationale["accounts"]:
            child = line["child_signal_id"]
            state = states.get(child or "")
            table.add_row(
                line["account_id"],
                line["status"],
                _quantity(line["capacity"]),
                _quantity(line["weight"]),
                _quantity(line["quantity"]),
                child or "-",
                "-" if state is None else _quantity(state["filled_quantity"]),
                "-" if state is None else state["status"].replace("_", " "),
            )
            if line["notes"]:
                adjustments.add_row(f"  {line['account_id']}:", "; ".join(line["notes"]))
        console.print()
        console.print(table)
        if adjustments.row_count:
            console.print(adjustments)


def _table(title: str, caption: str | None) -> Table:
    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def _tick(instruments: InstrumentBook, symbol: str) -> Decimal | None:
    """The finest tick of the venues listing `symbol` (None where none does)."""
    listed = instruments.instruments.items()
    return min((rules.tick_size for (_, name), rules in listed if name == symbol), default=None)


def _price(value: Decimal | None, tick: Decimal | None) -> str:
    """To the nearest tick: an average price lies between ticks, and its last digits are noise."""
    if value is None:
        return "-"
    if tick is None:
        return str(value)
    return str((value / tick).to_integral_value() * tick)


def _quantity(value: Decimal) -> str:
    """Without trailing zeros (`0.20000` is `0.2`), never in exponent form."""
    return f"{value.normalize():f}"


def _bps(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
