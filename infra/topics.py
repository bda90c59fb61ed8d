"""Provision the catalog's topics on a cluster: create what is missing, report what exists."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from fillstream import settings
from fillstream.schemas.topics import TopicSpec
from fillstream.settings.kafka_client import client_config

__all__ = ["TopicStatus", "admin_client", "describe", "ensure_topics", "existing_partitions"]


@dataclass(frozen=True)
class TopicStatus:
    spec: TopicSpec
    outcome: str  # "created", "exists", or "exists (N partitions, catalog says M)"


def admin_client() -> AdminClient:
    return AdminClient(client_config())


def existing_partitions(admin: AdminClient, timeout: float = 10) -> dict[str, int]:
    """Partition count of every topic on the cluster."""
    metadata = admin.list_topics(timeout=timeout)
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def ensure_topics(
    specs: Iterable[TopicSpec], admin: AdminClient | None = None
) -> list[TopicStatus]:
    """Create every missing topic with the catalog's partitions and config; idempotent."""
    admin = admin or admin_client()
    specs = list({spec.full_name: spec for spec in specs}.values())  # the broker refuses repeats
    present = existing_partitions(admin)
    missing = [spec for spec in specs if spec.full_name not in present]
    created: set[str] = set()
    if missing:
        new_topics = [
            NewTopic(
                spec.full_name,
                num_partitions=spec.partitions,
                replication_factor=settings.replication_factor(),
                config=spec.config(),
            )
            for spec in missing
        ]
        for name, future in admin.create_topics(new_topics, operation_timeout=30).items():
            try:
                future.result()
                created.add(name)
            except KafkaException as error:
                if error.args[0].name() != "TOPIC_ALREADY_EXISTS":  # a concurrent creator won
                    raise
    _wait_for_leaders(admin, created)
    statuses = []
    for spec in specs:
        if spec.full_name in created:
            outcome = "created"
        elif spec.full_name in present and present[spec.full_name] != spec.partitions:
            outcome = (
                f"exists ({present[spec.full_name]} partitions, catalog says {spec.partitions})"
            )
        else:
            outcome = "exists"
        statuses.append(TopicStatus(spec, outcome))
    return statuses


def _wait_for_leaders(admin: AdminClient, names: set[str], timeout: float = 30) -> None:
    """Return once every partition of the new topics has a leader, so they can be used at once."""
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting:
        topics = admin.list_topics(timeout=10).topics
        waiting = {
            name
            for name in waiting
            if name not in topics
            or not topics[name].partitions
            or any(p.leader < 0 or p.error is not None for p in topics[name].partitions.values())
        }
        if waiting and time.monotonic() > deadline:
            raise KafkaException(f"topics without partition leaders after {timeout} s: {waiting}")
        if waiting:
            time.sleep(0.1)


def describe(spec: TopicSpec, admin: AdminClient | None = None) -> dict[str, object]:
    """A topic as the broker sees it: partitions with leaders, and its configuration."""
    admin = admin or admin_client()
    metadata = admin.list_topics(spec.full_name, timeout=10).topics.get(spec.full_name)
    if metadata is None or metadata.error is not None:
        raise KafkaException(
            f"topic {spec.full_name} does not exist; run `fillstream topics create`"
        )
    resource = ConfigResource(ResourceType.TOPIC, spec.full_name)
    configs = admin.describe_configs([resource])[resource].result()
    return {
        "partitions": {pid: p.leader for pid, p in sorted(metadata.partitions.items())},
        "config": {name: entry.value for name, entry in sorted(configs.items())},
    }
