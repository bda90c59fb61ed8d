"""The operator's commands: publish signals, follow and cancel orders, pause accounts, the kill
switch, inspect topics, and serve the REST API.

Signals and commands are built and published by `fillstream.control`, as the API does.
`register` adds the commands to the main `fillstream` app.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from fillstream import control
from fillstream.schemas import jsonl
from fillstream.schemas.models import TERMINAL, Command, CommandKind, OrderState, OrderStatus
from fillstream.streams.orders import amend

__all__ = ["register"]

ISSUER = "cli"
_BATCH = 500  # signals per publish call: the progress bar moves once per batch

signals_app = typer.Typer(help="Publish trade signals.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders: status, listing, cancel.", no_args_is_help=True)
accounts_app = typer.Typer(
    help="Accounts: status, pause, resume, correlations.", no_args_is_help=True
)


def register(app: typer.Typer, topics_app: typer.Typer) -> None:
    """Add the ops commands to the main app (and `inspect` to its `topics` group)."""
    app.add_typer(signals_app, name="signals")
    app.add_typer(orders_app, name="orders")
    app.add_typer(accounts_app, name="accounts")
    app.command("kill-switch")(kill_switch)
    app.command("api")(serve_api)
    topics_app.command("inspect")(topics_inspect)


def main_cli() -> ModuleType:
    """The main CLI module (its consoles and broker check); imported late, since it imports
    this one (and `cli_up`)."""
    from fillstream import cli

    return cli


def _fail(message: str, code: int = 2) -> typer.Exit:
    main_cli().errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _spinner(text: str) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(text), console=main_cli().errors, transient=True)


# -- signals ------------------------------------------------------------------------------


@signals_app.command("publish")
def signals_publish(
    file: Annotated[
        Path,
        typer.Argument(
            help="Signals as .csv (a header of field names) or JSON lines; - for stdin (JSON).",
            allow_dash=True,
            exists=True,
            dir_okay=False,
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Send nothing if any line is invalid.")
    ] = False,
) -> None:
    """Validate every signal of FILE and publish the valid ones on `signals`.

    Each signal needs its own signal_id (sending the file again then makes no new orders);
    a missing created_at is the time of sending. Invalid lines are listed by number; the
    exit code is 1 if there were any.
    """
    cli = main_cli()
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    signals, problems = control.parse_signal_file(
        text, file.suffix.lower() == ".csv", control.stamp()
    )
    for problem in problems[:20]:
        cli.errors.print(f"[red]{problem}[/]", highlight=False)
    if len(problems) > 20:
        cli.errors.print(f"... and {len(problems) - 20} more invalid lines")
    if problems and strict:
        raise _fail(f"{len(problems)} invalid lines; nothing was sent (--strict)", 1)
    cli._require_cluster()
    sent = 0
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=cli.errors, transient=True) as progress:
        task = progress.add_task("signals", total=len(signals))
        for start in range(0, len(signals), _BATCH):
            batch = [signal for _, signal in signals[start : start + _BATCH]]
            sent += control.publish_signals(batch)
            progress.advance(task, len(batch))
    cli.console.print(f"{sent} signals published, {len(problems)} invalid lines")
    if problems:
        raise typer.Exit(1)


# -- orders -------------------------------------------------------------------------------


def _orders() -> dict[str, OrderState]:
    """Every order's latest state, read from `orders.state` as it stands."""
    from fillstream.api.follower import snapshot

    main_cli()._require_cluster()
    with _spinner("reading orders.state") as progress:
        progress.add_task("orders")
        return snapshot(["orders.state"]).orders


def _order(order_id: str) -> OrderState:
    state = _orders().get(order_id)
    if state is None:
        raise _fail(f"no order {order_id!r} on orders.state (yet)", 1)
    return state


@orders_app.command("status")
def orders_status(
    order_id: Annotated[str, typer.Argument(help="The order id, e.g. o-sig-0001.")],
) -> None:
    """An order's latest state, as JSON."""
    print(jsonl.dumps(_order(order_id).model_dump(mode="json"), indent=2))


@orders_app.command("list")
def orders_list(
    status: Annotated[
        list[OrderStatus] | None, typer.Option(help="Only these statuses (repeat).")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """Orders, newest first."""
    from fillstream.api.paging import MAX_LIMIT, OrderFilter, page, select_orders

    if not 1 <= limit <= MAX_LIMIT:
        raise _fail(f"--limit must be from 1 to {MAX_LIMIT}")
    where = OrderFilter(frozenset(status or ()), account_id=account, symbol=symbol)
    chosen = page(select_orders(_orders().values(), where), limit, 0)
    table = Table(title=f"{len(chosen.items)} of {chosen.total} orders")
    for column in ("order", "account", "symbol", "side", "quantity", "filled", "avg price"):
        table.add_column(column)
    table.add_column("status")
    for order in chosen.items:
        table.add_row(
            order.order_id,
            order.account_id,
            order.symbol,
            order.side.value,
            str(order.quantity),
            str(order.filled_quantity),
            "" if order.average_price is None else str(order.average_price),
            order.status.value,
        )
    main_cli().console.print(table)


def _publish(command: Command) -> None:
    main_cli()._require_cluster()
    control.publish_commands([command])
    main_cli().console.print(f"{command.kind.value} → commands ({command.command_id})")


@orders_app.command("cancel")
def orders_cancel(
    order_id: Annotated[str, typer.Argument(help="The order id.")],
    symbol: Annotated[
        str | None,
        typer.Option(help="The order's symbol (default: looked up on orders.state)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Cancel a working order (a cancel command on `commands`)."""
    if symbol is None:
        state = _order(order_id)
        if state.status in TERMINAL:
            raise _fail(f"order {order_id} is already {state.status.value}", 1)
        symbol = state.symbol
    _publish(control.cancel_command(order_id, symbol, control.stamp(), ISSUER, reason))


@orders_app.command("modify")
def orders_modify(
    order_id: Annotated[str, typer.Argument(help="The order id.")],
    quantity: Annotated[
        str | None, typer.Option(help="The new total quantity (fills included); only lower.")
    ] = None,
    price: Annotated[
        str | None,
        typer.Option(help="The new limit price; only further from the market."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Lower a working order's quantity or move its limit away from the market.

    A modify may only lower the order's risk (more, or a more aggressive price, is a new
    signal, which pre-trade risk checks). The outcome shows on `fillstream orders status`:
    the new terms, or the reason the modify was refused.
    """
    state = _order(order_id)
    if state.status in TERMINAL:
        raise _fail(f"order {order_id} is already {state.status.value}", 1)
    try:
        built = control.modify_command(
            order_id,
            state.symbol,
            control.stamp(),
            ISSUER,
            quantity=None if quantity is None else Decimal(quantity),
            price=None if price is None else Decimal(price),
            reason=reason,
        )
    except (ArithmeticError, ValueError) as error:
        raise _fail(f"not a modify: {error}") from error
    why = amend.refusal(state, built)
    if why is not None:
        raise _fail(f"refused: {why}", 1)
    _publish(built)


# -- accounts and the kill switch ---------------------------------------------------------


@accounts_app.command("pause")
def accounts_pause(
    account: Annotated[str, typer.Argument(help="The account id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Halt an account: risk refuses its new orders until it is resumed."""
    _publish(control.account_command(CommandKind.PAUSE, account, control.stamp(), ISSUER, reason))


@accounts_app.command("resume")
def accounts_resume(
    account: Annotated[str, typer.Argument(help="The account id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Lift an account's pause."""
    _publish(control.account_command(CommandKind.RESUME, account, control.stamp(), ISSUER, reason))


@accounts_app.command("status")
def accounts_status(
    account: Annotated[str, typer.Argument(help="The account id.")],
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
) -> None:
    """An account of the configuration as JSON: state, available margin, risk budget left,
    daily PnL and drawdown, open positions and working orders (from accounts.state and
    orders.state, as GET /api/v1/accounts/{id} answers)."""
    from fillstream.api.accounts import account_status
    from fillstream.api.follower import snapshot
    from fillstream.config import ConfigError, load_config

    try:
        configured = load_config(config).accounts.accounts.get(account)
    except ConfigError as error:
        raise _fail(str(error)) from None
    if configured is None:
        raise _fail(f"no account {account!r} among the configuration's accounts", 1)
    main_cli()._require_cluster()
    with _spinner("reading accounts.state and orders.state") as progress:
        progress.add_task("accounts")
        view = snapshot(["accounts.state", "orders.state"])
    status = account_status(configured, view.accounts.get(account), view.orders.values())
    print(jsonl.dumps(status, indent=2))


@accounts_app.command("correlate")
def accounts_correlate(
    account_a: Annotated[str, typer.Argument(help="One account id.")],
    account_b: Annotated[str, typer.Argument(help="The other account id.")],
    correlation: Annotated[
        float, typer.Argument(help="Their returns' correlation, -1 to 1.", min=-1, max=1)
    ],
) -> None:
    """Set two accounts' correlation (accounts.correlations): the allocator makes accounts
    correlated above their group's max_correlation share one allocation."""
    if account_a == account_b:
        raise _fail("two different accounts, please")
    main_cli()._require_cluster()
    built = control.correlation(account_a, account_b, correlation, control.stamp(), ISSUER)
    control.publish_correlations([built])
    main_cli().console.print(f"{built.pair_id} = {correlation:g} → accounts.correlations")


def kill_switch(
    state: Annotated[str, typer.Argument(help="on or off.")],
    account: Annotated[
        str | None, typer.Option(help="One account (default: every account).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Throw or release the kill switch, for one account or all.

    On: risk refuses new orders and the executors cancel the working ones (and the ccxt
    gateway everything open at its venues, for a global one)."""
    if state not in {"on", "off"}:
        raise _fail(f"kill-switch takes on or off, not {state!r}")
    _publish(control.kill_switch_command(state == "on", account, control.stamp(), ISSUER, reason))


# -- topics inspect -----------------------------------------------------------------------


def topics_inspect(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. fills.")],
    last: Annotated[
        int, typer.Option(help="Show this many of the latest records of each partition.")
    ] = 3,
) -> None:
    """A topic on the cluster: partitions, offsets, lag, latest records.

    Records held per partition, each consumer group's lag, and the latest records."""
    from confluent_kafka import KafkaException

    from fillstream.api.cluster import Cluster, lag
    from fillstream.topic_io import consume

    cli = main_cli()
    spec = cli._spec(topic)
    cli._require_cluster()
    cluster = Cluster(timeout=10)
    with _spinner(f"inspecting {spec.full_name}") as progress:
        progress.add_task("inspect")
        try:
            partitions = [(spec.full_name, p) for p in cluster.partitions(spec.full_name)]
        except KafkaException as error:
            raise _fail(f"{error.args[0]}; run `fillstream topics create`") from None
        marks = cluster.watermarks(partitions)
        lags: dict[str, int] = {}
        for group in cluster.groups():
            committed = {w: o for w, o in cluster.committed(group).items() if w in marks}
            if committed:
                lags[group] = lag(committed, {w: high for w, (_, high) in marks.items()}).total
        starts = {p: max(low, high - last) for (_, p), (low, high) in marks.items()}
        ends = {p: high for (_, p), (_, high) in marks.items()}
        latest = list(consume(spec, start=starts, end=ends)) if last > 0 else []
    table = Table(title=f"{spec.full_name} ({spec.record})")
    for column in ("partition", "first offset", "end offset", "records held"):
        table.add_column(column, justify="right")
    for (_, partition), (low, high) in sorted(marks.items()):
        table.add_row(str(partition), str(low), str(high), str(high - low))
    cli.console.print(table)
    cli.console.print(
        "records held = end − first offset: transaction markers and compaction make it an"
        " upper bound"
    )
    groups = Table("consumer group", "lag", title="Consumer groups reading it")
    for group, behind in sorted(lags.items()):
        groups.add_row(group, str(behind))
    cli.console.print(groups if lags else "No consumer group has committed offsets on it.")
    latest.sort(key=lambda item: (item.partition, item.offset))
    for item in latest:
        shown: Any = item.record if item.error is None else f"undecodable: {item.error}"
        print(jsonl.dumps({"partition": item.partition, "offset": item.offset, "value": shown}))


# -- the REST API ---------------------------------------------------------------------------


def serve_api(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
) -> None:
    """Serve the REST API (docs at /api/v1/docs) until stopped.

    API keys come from FILLSTREAM_API_KEYS: key:scope pairs, comma-separated, scope read,
    trade or admin.
    """
    from fillstream.api.server import api_settings, run
    from fillstream.kafka_client import act_as

    act_as("api")  # FILLSTREAM_KAFKA_ROLE=viewer serves it read-only
    try:
        chosen = api_settings(config)
    except ValueError as error:  # ConfigError is one too
        raise _fail(str(error)) from None
    main_cli()._require_cluster()
    run(host, port, chosen)
