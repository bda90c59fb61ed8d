"""`fillstream accounts`: pause, resume, status and correlations of accounts.

Built and published by `fillstream.control`, as the API does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fillstream import control
from fillstream.cli.cluster import require_cluster
from fillstream.cli.commands import ISSUER, publish_command
from fillstream.cli.console import console, fail, spinner
from fillstream.schemas import jsonl
from fillstream.schemas.models import CommandKind

__all__ = ["app"]

app = typer.Typer(help="Accounts: status, pause, resume, correlations.", no_args_is_help=True)


@app.command("pause")
def accounts_pause(
    account: Annotated[str, typer.Argument(help="The account id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Halt an account: risk refuses its new orders until it is resumed."""
    publish_command(
        control.account_command(CommandKind.PAUSE, account, control.stamp(), ISSUER, reason)
    )


@app.command("resume")
def accounts_resume(
    account: Annotated[str, typer.Argument(help="The account id.")],
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log.")] = None,
) -> None:
    """Lift an account's pause."""
    publish_command(
        control.account_command(CommandKind.RESUME, account, control.stamp(), ISSUER, reason)
    )


@app.command("status")
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
        accounts = load_config(config).accounts
    except ConfigError as error:
        raise fail(str(error)) from None
    configured = accounts.accounts.get(account)
    if configured is None:
        raise fail(f"no account {account!r} among the configuration's accounts", 1)
    require_cluster()
    with spinner("reading accounts.state, venue.balances and orders.state") as progress:
        progress.add_task("accounts")
        view = snapshot(["accounts.state", "venue.balances", "orders.state"])
    funds = accounts.venue_funds(view.balances).get(account)
    status = account_status(configured, view.accounts.get(account), view.orders.values(), funds)
    print(jsonl.dumps(status, indent=2))


@app.command("correlate")
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
        raise fail("two different accounts, please")
    require_cluster()
    built = control.correlation(account_a, account_b, correlation, control.stamp(), ISSUER)
    control.publish_correlations([built])
    console.print(f"{built.pair_id} = {correlation:g} → accounts.correlations")
