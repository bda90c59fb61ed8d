"""Whether the Kafka cluster answers: a command fails fast, saying what to do, or waits."""

from __future__ import annotations

import time

import typer

from fillstream import settings
from fillstream.cli.console import errors
from fillstream.infra.kafka_access import KafkaAccessRefused, cluster_answers
from fillstream.settings.kafka_client import KafkaSettingsError

__all__ = ["await_cluster", "no_cluster", "require_cluster"]


def _cluster_answers() -> bool:
    """Whether the cluster serves us; one that answers but refuses us ends the command with the
    setting or ACL to fix, in one line."""
    try:
        return cluster_answers(timeout=5)
    except (KafkaAccessRefused, KafkaSettingsError) as refusal:
        errors.print(f"[bold red]error:[/] {refusal}", highlight=False)
        raise typer.Exit(2) from None


def no_cluster() -> str:
    return (
        f"[red]No Kafka broker answers at {settings.bootstrap_servers()}.[/] Start the local"
        " one with `fillstream kafka start`, or point KAFKA_BOOTSTRAP_SERVERS at a cluster."
    )


def require_cluster() -> None:
    """Fail fast, saying what to do, when no Kafka answers (rather than hang or time out later)."""
    if not _cluster_answers():
        errors.print(no_cluster())
        raise typer.Exit(2)


def await_cluster() -> None:
    """A processor says so once and waits: one started while the broker is away (by a
    supervisor, or beside a broker that is restarting) starts when it returns, as a running
    one resumes."""
    if _cluster_answers():
        return
    errors.print(f"{no_cluster()} Waiting for it.")
    while not _cluster_answers():
        time.sleep(1)
