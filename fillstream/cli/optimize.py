"""`fillstream optimize`: switch every processor's batching to a latency or throughput profile.

The profile is built as the API's `/execution/optimize` builds it (streams/profiles.py) and
published on `profiles`; each processor applies it at its next batch boundary, without a
restart. The API's answer also measures the switch; `fillstream bench --profile` compares the
profiles under load.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fillstream import control, settings
from fillstream.cli.cluster import await_cluster
from fillstream.cli.commands import ISSUER
from fillstream.cli.console import console, fail
from fillstream.schemas.models import OptimizationTarget
from fillstream.streams.profiles import CONSTRAINTS, SETTINGS

__all__ = ["optimize"]


def optimize(
    target: Annotated[
        OptimizationTarget,
        typer.Argument(help="latency, throughput, or balanced (the configured defaults)."),
    ],
    constraint: Annotated[
        list[str] | None,
        typer.Option(
            "--constraint",
            "-c",
            help="NAME=N, a cap on what the profile chooses; repeat. Names: "
            + ", ".join(CONSTRAINTS),
        ),
    ] = None,
) -> None:
    """Switch every running processor's batching (linger, batch size, fetch wait and size,
    commit interval) to a profile; each applies it at its next batch boundary."""
    caps: dict[str, int] = {}
    for item in constraint or []:
        name, _, value = item.partition("=")
        if not value.strip().isdigit():
            raise fail(f"--constraint {item!r}: write NAME=N, e.g. max_linger_ms=5")
        caps[name.strip()] = int(value)
    try:
        profile = control.batching_profile(target, control.stamp(), ISSUER, caps)
    except ValueError as error:
        raise fail(str(error)) from None
    await_cluster()
    control.publish_profiles([profile])
    table = Table(title=f"batching profile {target.value} ({settings.processing_guarantee()})")
    table.add_column("setting")
    table.add_column("value", justify="right")
    for name in SETTINGS:
        table.add_row(name, str(getattr(profile, name)))
    console.print(table)
    console.print(
        f"Published as {profile.profile_id}: each processor applies it at its next batch boundary."
    )
