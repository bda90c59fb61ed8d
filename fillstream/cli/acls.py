"""`fillstream acls`: write the Kafka ACLs the pipeline implies, and show who may do what."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from rich.table import Table

from fillstream import settings
from fillstream.acls import Acl, pipeline_acls, topic_access
from fillstream.cli.cluster import no_cluster
from fillstream.cli.console import console, errors
from fillstream.cluster_acls import AclsUnavailable, apply_acls, read_acls
from fillstream.config import ConfigError, load_config
from fillstream.settings.kafka_client import KafkaSettingsError, client_config

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    help="The Kafka ACLs of the pipeline's principals (docs/SECURITY.md, 'The ACL model').",
    no_args_is_help=True,
)


@app.command("apply")
def apply(
    config: Annotated[
        Path | None, typer.Option(help="Engine configuration (TOML) (default: the shipped one).")
    ] = None,
    guarantee: Annotated[
        str | None,
        typer.Option(
            help="at-least-once or exactly-once (default: FILLSTREAM_PROCESSING_GUARANTEE):"
            " exactly-once lets the processors use their transactional ids.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the entries; change nothing.")
    ] = False,
) -> None:
    """Create the ACLs the pipeline's principals need (safe to run again).

    Each principal gets its topics under FILLSTREAM_TOPIC_PREFIX, its consumer groups and,
    under exactly-once, its transactional ids; nothing is removed. Acts as the super user
    `admin`; the cluster must have an authorizer (`fillstream kafka start --secure`)."""
    prefix = settings.topic_prefix()
    try:
        chosen = guarantee or settings.processing_guarantee()
        acls = pipeline_acls(prefix, chosen, load_config(config))
    except (ConfigError, ValueError) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    if dry_run:
        _tables(acls, prefix)
        console.print(f"{len(acls)} ACL entries for prefix {prefix!r} ({chosen}); none written.")
        return
    new = _call(lambda admin: apply_acls(admin, acls))
    console.print(
        f"{len(acls)} ACL entries for prefix {prefix!r} ({chosen}):"
        f" {new} created, {len(acls) - new} there already."
    )


@app.command("show")
def show(
    as_json: Annotated[
        bool, typer.Option("--json", help="Every entry as JSON, for machines.")
    ] = False,
) -> None:
    """Who may write and who may read each topic, as the cluster's ACLs say.

    Each catalog topic and changelog under FILLSTREAM_TOPIC_PREFIX, then the consumer groups
    and transactional ids. Acts as the super user `admin`."""
    acls = _call(read_acls)
    if not acls and not as_json:
        errors.print(
            "The cluster holds no ACLs: `fillstream acls apply` writes them. A cluster without"
            " an authorizer enforces none (the local one: `fillstream kafka start --secure`)."
        )
        return
    if as_json:
        print(json.dumps([asdict(acl) for acl in acls], indent=2))
        return
    _tables(acls, settings.topic_prefix())


def _tables(acls: list[Acl], prefix: str) -> None:
    by_topic = Table(
        "topic",
        "who writes",
        "who reads",
        title=f"Topics (prefix {prefix!r})",
        caption="admin, the super user, may do anything",
    )
    for access in topic_access(acls, prefix):
        by_topic.add_row(
            access.topic, ", ".join(access.writers) or "-", ", ".join(access.readers) or "-"
        )
    console.print(by_topic)
    others = Table("resource", "name", "pattern", "who", "may", title="Groups and the rest")
    may: dict[tuple[str, str, str, str], list[str]] = {}
    for acl in acls:
        if acl.resource_type != "TOPIC":
            who = (acl.resource_type, acl.resource_name, acl.pattern, acl.principal)
            denied = "" if acl.permission == "ALLOW" else f"{acl.permission} "
            may.setdefault(who, []).append(denied + acl.operation)
    for (kind, name, pattern, who), operations in may.items():
        others.add_row(kind, name, pattern, who.removeprefix("User:"), ", ".join(operations))
    console.print(others)


def _call(action: Callable[[AdminClient], T]) -> T:
    """`action` on an admin client acting as the super user; what goes wrong, said plainly."""
    try:
        admin = AdminClient(client_config(role_name="admin"))
        admin.list_topics(timeout=5)
    except KafkaSettingsError as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(2) from None
    except KafkaException as error:
        errors.print(f"{no_cluster()} ({error})")
        raise typer.Exit(2) from None
    try:
        return action(admin)
    except (AclsUnavailable, KafkaException) as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
