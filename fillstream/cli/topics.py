"""`fillstream topics`: the topic catalog and its topics on the cluster."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from fillstream import settings
from fillstream.cli.cluster import require_cluster
from fillstream.cli.console import console, fail, spinner
from fillstream.cli.options import topic_spec
from fillstream.infra import topics as provisioning
from fillstream.infra.topic_io import consume
from fillstream.schemas import jsonl
from fillstream.schemas.contracts import contract
from fillstream.schemas.models import MODELS
from fillstream.schemas.topics import CATALOG, TopicSpec

__all__ = ["app"]

app = typer.Typer(help="The topic catalog and its topics on the cluster.", no_args_is_help=True)


def _retention(spec: TopicSpec) -> str:
    if spec.cleanup_policy == "compact":
        return "compacted"
    if spec.retention_ms < 0:
        return "forever"
    return f"{spec.retention_ms / 86_400_000:g} days"


@app.command("list")
def topics_list() -> None:
    """The catalog: every topic with its contract, key, partitions and retention."""
    try:
        present = provisioning.existing_partitions(provisioning.admin_client(), timeout=5)
    except Exception:  # the catalog is still worth showing without a broker
        present = None
    table = Table(title=f"Topic catalog (prefix {settings.topic_prefix()!r})")
    for column in ("topic", "contract", "key", "partitions", "retention", "on cluster"):
        table.add_column(column)
    for spec in CATALOG:
        if present is None:
            on_cluster = "broker unreachable"
        else:
            on_cluster = (
                f"{present[spec.full_name]} partitions" if spec.full_name in present else "missing"
            )
        table.add_row(
            spec.full_name,
            spec.record,
            " | ".join(spec.key_fields),
            str(spec.partitions),
            _retention(spec),
            on_cluster,
        )
    console.print(table)


@app.command("create")
def topics_create() -> None:
    """Create every catalog topic that is missing (safe to run again)."""
    require_cluster()
    for status in provisioning.ensure_topics(CATALOG):
        colour = (
            "green"
            if status.outcome == "created"
            else "yellow"
            if "catalog says" in status.outcome
            else "dim"
        )
        console.print(f"[{colour}]{status.outcome:>8}[/] {status.spec.full_name}")


@app.command("describe")
def topics_describe(
    topic: Annotated[str, typer.Argument(help="Catalog name, e.g. signals.")],
) -> None:
    """One topic: its catalog entry, partitions, configuration and contract fields."""
    spec = topic_spec(topic)
    require_cluster()
    broker_view = provisioning.describe(spec)
    console.print(f"[bold]{spec.full_name}[/]: {spec.description}")
    console.print(
        f"contract {spec.record} v{contract(spec.record).version},"
        f" key {' | '.join(spec.key_fields)}"
    )
    console.print(f"partitions (leader broker): {broker_view['partitions']}")
    for name, value in broker_view["config"].items():  # type: ignore[union-attr]
        if name in {"cleanup.policy", "retention.ms", "min.insync.replicas", "compression.type"}:
            console.print(f"  {name} = {value}")
    console.print("fields: " + ", ".join(MODELS[spec.record].model_fields))


@app.command("inspect")
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

    spec = topic_spec(topic)
    require_cluster()
    cluster = Cluster(timeout=10)
    with spinner(f"inspecting {spec.full_name}") as progress:
        progress.add_task("inspect")
        try:
            partitions = [(spec.full_name, p) for p in cluster.partitions(spec.full_name)]
        except KafkaException as error:
            raise fail(f"{error.args[0]}; run `fillstream topics create`") from None
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
    console.print(table)
    console.print(
        "records held = end − first offset: transaction markers and compaction make it an"
        " upper bound"
    )
    groups = Table("consumer group", "lag", title="Consumer groups reading it")
    for group, behind in sorted(lags.items()):
        groups.add_row(group, str(behind))
    console.print(groups if lags else "No consumer group has committed offsets on it.")
    latest.sort(key=lambda item: (item.partition, item.offset))
    for item in latest:
        shown: Any = item.record if item.error is None else f"undecodable: {item.error}"
        print(jsonl.dumps({"partition": item.partition, "offset": item.offset, "value": shown}))
