"""`fillstream orders`: follow, list, cancel and modify orders.

Built and published by `fillstream.control`, as the API does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from fillstream import control
from fillstream.cli.cluster import require_cluster
from fillstream.cli.commands import ISSUER, publish_command
from fillstream.cli.console import console, fail, spinner
from fillstream.schemas import jsonl
from fillstream.schemas.models import TERMINAL, OrderState, OrderStatus
from fillstream.streams.orders import amend

__all__ = ["app"]

app = typer.Typer(help="Orders: status, listing, cancel.", no_args_is_help=True)


def _orders() -> dict[str, OrderState]:
    """Every order's latest state, read from `orders.state` as it stands."""
    from fillstream.api.follower import snapshot

    require_cluster()
    with spinner("reading orders.state") as progress:
        progress.add_task("orders")
        return snapshot(["orders.state"]).orders


def _order(order_id: str) -> OrderState:
    state = _orders().get(order_id)
    if state is None:
        raise fail(f"no order {order_id!r} on orders.state (yet)", 1)
    return state


@app.command("status")
def orders_status(
    order_id: Annotated[str, typer.Argument(help="The order id, e.g. o-sig-0001.")],
) -> None:
    """An order's latest state, as JSON."""
    print(jsonl.dumps(_order(order_id).model_dump(mode="json"), indent=2))


@app.command("list")
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
        raise fail(f"--limit must be from 1 to {MAX_LIMIT}")
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
    console.print(table)


@app.command("cancel")
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
            raise fail(f"order {order_id} is already {state.status.value}", 1)
        symbol = state.symbol
    publish_command(control.cancel_command(order_id, symbol, control.stamp(), ISSUER, reason))


@app.command("modify")
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
        raise fail(f"order {order_id} is already {state.status.value}", 1)
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
        raise fail(f"not a modify: {error}") from error
    why = amend.refusal(state, built)
    if why is not None:
        raise fail(f"refused: {why}", 1)
    publish_command(built)
