"""`fillstream kill-switch`: throw or release it, for one account or all."""

from __future__ import annotations

from typing import Annotated

import typer

from fillstream import control
from fillstream.cli.commands import ISSUER, publish_command
from fillstream.cli.console import fail

__all__ = ["kill_switch"]


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
        raise fail(f"kill-switch takes on or off, not {state!r}")
    publish_command(
        control.kill_switch_command(state == "on", account, control.stamp(), ISSUER, reason)
    )
