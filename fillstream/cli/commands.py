"""Records the CLI issues in the operator's name: who it says issued them, and operator
commands (cancel, modify, pause, resume, kill switch) sent on `commands`."""

from __future__ import annotations

from fillstream import control
from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console
from fillstream.schemas.models import Command

__all__ = ["ISSUER", "publish_command"]

ISSUER = "cli"


def publish_command(command: Command) -> None:
    require_cluster()
    control.publish_commands([command])
    console.print(f"{command.kind.value} → commands ({command.command_id})")
