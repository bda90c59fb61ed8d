"""`fillstream schedule add|list|cancel`: scheduled and recurring executions from the shell.

The records are built by `fillstream.control`, as the API builds them, and validated there
(pydantic) before anything is sent; `list` reads where the scheduler says each schedule
stands, on `schedules.state`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from fillstream import control
from fillstream.cli.cluster import require_cluster
from fillstream.cli.commands import ISSUER
from fillstream.cli.console import console, fail, spinner
from fillstream.schemas import jsonl
from fillstream.schemas.models import (
    MissedPolicy,
    OrderType,
    ScheduleState,
    ScheduleStatus,
    Side,
    TimeInForce,
)

__all__ = ["app"]

app = typer.Typer(
    help="Scheduled and recurring executions: a signal published once at a time, or every N"
    " seconds between a start and an end, at most K times.",
    no_args_is_help=True,
)


def _time_us(text: str | None, option: str) -> int | None:
    """µs since the epoch from an ISO-8601 time (UTC unless it says otherwise) or µs."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(
            f"{option} {text!r}: give an ISO-8601 time (2026-12-07T09:30:00Z) or µs since the epoch"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _iso(at_us: int | None) -> str:
    if at_us is None:
        return ""
    return datetime.fromtimestamp(at_us / 1e6, UTC).isoformat(timespec="milliseconds")


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise fail(f"--param {pair!r}: give NAME=VALUE, e.g. duration_seconds=300")
        parameters[name] = value
    return parameters


@app.command("add")
def schedule_add(
    account: Annotated[str, typer.Option(help="The trading account of every occurrence.")],
    strategy: Annotated[str, typer.Option(help="The strategy the signals come from.")],
    symbol: Annotated[str, typer.Option(help="ccxt unified symbol, e.g. BTC/USDT.")],
    side: Annotated[Side, typer.Option(help="buy or sell.")],
    quantity: Annotated[str, typer.Option(help="Quantity of each occurrence (exact decimal).")],
    order_type: Annotated[OrderType, typer.Option(help="The order type.")] = OrderType.MARKET,
    price: Annotated[str | None, typer.Option(help="Limit price (limit, iceberg).")] = None,
    stop_price: Annotated[str | None, typer.Option(help="Trigger price (stop orders).")] = None,
    stop_loss: Annotated[
        str | None, typer.Option(help="A bracket's stop-loss trigger price for what fills.")
    ] = None,
    take_profit: Annotated[
        str | None, typer.Option(help="A bracket's take-profit limit price for what fills.")
    ] = None,
    time_in_force: Annotated[
        TimeInForce, typer.Option(help="GTC, IOC, FOK or DAY (GTD cannot recur).")
    ] = TimeInForce.GTC,
    algorithm: Annotated[
        str | None, typer.Option(help="Execution algorithm (fillstream algos list).")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="An algorithm parameter NAME=VALUE (repeat).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="First due time: ISO-8601 (UTC unless given) or µs (default: now)."),
    ] = None,
    every: Annotated[
        str | None, typer.Option(help="Seconds between occurrences (≥ 1); without it: once.")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="No occurrence after this time (ISO-8601 or µs).")
    ] = None,
    times: Annotated[int | None, typer.Option(help="At most this many occurrences.")] = None,
    missed: Annotated[
        MissedPolicy,
        typer.Option(
            help="Occurrences due while the system was down: skip them, or catch_up (publish"
            " each, late)."
        ),
    ] = MissedPolicy.SKIP,
    schedule_id: Annotated[
        str | None,
        typer.Option("--id", help="The schedule id (default: a new one); signals are ID:N."),
    ] = None,
) -> None:
    """Schedule a signal: once at --start, or every --every seconds from --start until --end,
    at most --times times. Occurrence N is published on `signals` as signal ID:N, created at
    its due time, and goes through pre-trade risk as any signal.

    Example: buy 0.01 BTC every hour, 24 times:
    fillstream schedule add --account acct-1 --strategy dca --symbol BTC/USDT --side buy
    --quantity 0.01 --every 3600 --times 24
    """
    fields: dict[str, Any] = {
        "schedule_id": schedule_id,
        "signal": {
            "strategy_id": strategy,
            "account_id": account,
            "symbol": symbol,
            "side": side,
            "quantity": quantity,
            "order_type": order_type,
            "price": price,
            "stop_price": stop_price,
            "stop_loss": stop_loss,
            "take_profit": take_profit,
            "time_in_force": time_in_force,
            "algorithm": algorithm,
            "algorithm_parameters": _parameters(param or []),
        },
        "start_at": _time_us(start, "--start"),
        "every_seconds": every,
        "end_at": _time_us(end, "--end"),
        "max_occurrences": times,
        "missed": missed,
    }
    try:
        draft = control.ScheduleDraft.model_validate(fields)
        schedule = control.schedule_from(draft, control.stamp(), ISSUER)
    except ValidationError as error:
        raise fail(f"not a schedule: {jsonl.explain_invalid(error)}") from None
    require_cluster()
    control.publish_schedules([schedule])
    console.print(
        f"schedule {schedule.schedule_id} → schedules; first due {_iso(schedule.start_at)}"
        f" (signal {schedule.schedule_id}:1)"
    )


def _states() -> dict[str, ScheduleState]:
    from fillstream.api.follower import snapshot

    require_cluster()
    with spinner("reading schedules.state") as progress:
        progress.add_task("schedules")
        return snapshot(["schedules.state"]).schedules


@app.command("list")
def schedule_list(
    status: Annotated[
        list[ScheduleStatus] | None, typer.Option(help="Only these statuses (repeat).")
    ] = None,
) -> None:
    """Every schedule the scheduler holds, with its next due time and its occurrences."""
    chosen = [s for s in _states().values() if not status or s.status in status]
    table = Table(title=f"{len(chosen)} schedules")
    for column in ("schedule", "status", "account", "symbol", "side", "quantity", "next due"):
        table.add_column(column)
    for column in ("published", "skipped"):
        table.add_column(column, justify="right")
    for state in sorted(chosen, key=lambda s: s.schedule_id):
        template = state.schedule.signal
        assert template is not None  # a state is of a created schedule
        table.add_row(
            state.schedule_id,
            state.status.value,
            template.account_id,
            template.symbol,
            template.side.value,
            str(Decimal(template.quantity)),
            _iso(state.next_due_at),
            str(state.published),
            str(state.skipped),
        )
    console.print(table)


@app.command("cancel")
def schedule_cancel(
    schedule_id: Annotated[str, typer.Argument(help="The schedule id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Cancel a schedule: no further occurrence is published (those published stay)."""
    state = _states().get(schedule_id)
    if state is None:
        raise fail(f"no schedule {schedule_id!r} on schedules.state (yet)", 1)
    if state.status is not ScheduleStatus.ACTIVE:
        raise fail(f"schedule {schedule_id} is already {state.status.value}", 1)
    cancel = control.schedule_cancel(schedule_id, control.stamp(), ISSUER, reason)
    control.publish_schedules([cancel])
    console.print(f"cancel → schedules ({schedule_id})")
