"""The cluster as ops see it: is the broker there, how far behind is each consumer group.

`lag` is pure; the rest asks the broker (admin metadata, committed offsets, watermarks).
Under Kafka transactions each partition's end holds a commit marker no consumer commits
past, so a caught-up exactly-once group shows a lag of one per partition written
transactionally; docs/ARCHITECTURE.md explains why the pipeline's own watcher does not use
these figures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fillstream.infra.topic_io import consumer_lag, reader_group
from fillstream.settings.kafka_client import client_config

__all__ = [
    "Cluster",
    "GroupLag",
    "Partition",
    "lag",
]

# (topic, partition)
Partition = tuple[str, int]


@dataclass(frozen=True)
class GroupLag:
    total: int
    by_topic: dict[str, int]
    partitions: int  # partitions with a committed offset


def lag(committed: Mapping[Partition, int], ends: Mapping[Partition, int]) -> GroupLag:
    """How far a group's committed offsets are behind the partitions' ends."""
    by_topic: dict[str, int] = {}
    for where, offset in committed.items():
        behind = consumer_lag(offset, ends.get(where, offset))
        by_topic[where[0]] = by_topic.get(where[0], 0) + behind
    return GroupLag(sum(by_topic.values()), dict(sorted(by_topic.items())), len(committed))


class Cluster:
    """Questions to the configured cluster, through one admin client and one consumer made on
    first use and kept (a client's start-up costs more than the question)."""

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._admin_client: AdminClient | None = None
        self._consumer: Consumer | None = None

    def _admin(self) -> AdminClient:
        with self._lock:
            if self._admin_client is None:
                self._admin_client = AdminClient(client_config())
            return self._admin_client

    def reachable(self) -> bool:
        try:
            self._admin().list_topics(timeout=self.timeout)
        except KafkaException:
            return False
        return True

    def groups(self) -> list[str]:
        listed = self._admin().list_consumer_groups(request_timeout=self.timeout).result()
        return sorted(group.group_id for group in listed.valid)

    def committed(self, group: str) -> dict[Partition, int]:
        """The group's committed offsets (partitions it never committed are left out)."""
        request = [ConsumerGroupTopicPartitions(group)]
        result = (
            self._admin()
            .list_consumer_group_offsets(request, request_timeout=self.timeout)[group]
            .result()
        )
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions
            if tp.offset >= 0 and tp.error is None
        }

    def watermarks(self, partitions: Iterable[Partition]) -> dict[Partition, tuple[int, int]]:
        """Each partition's oldest offset still held and the next offset to be written."""
        with self._lock:
            if self._consumer is None:
                self._consumer = Consumer(
                    client_config(
                        {
                            "group.id": reader_group("inspect"),
                            "enable.auto.commit": False,
                        }
                    )
                )
            return {
                where: self._consumer.get_watermark_offsets(
                    TopicPartition(*where), timeout=self.timeout
                )
                for where in partitions
            }

    def partitions(self, topic: str) -> list[int]:
        metadata = self._admin().list_topics(topic, timeout=self.timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise KafkaException(f"topic {topic} does not exist")
        return sorted(metadata.partitions)

    def assigned(self, group: str) -> list[Partition]:
        """The partitions the group's live members hold now (none while it rebalances)."""
        description = (
            self._admin()
            .describe_consumer_groups([group], request_timeout=self.timeout)[group]
            .result()
        )
        return sorted(
            (tp.topic, tp.partition)
            for member in description.members
            for tp in member.assignment.topic_partitions
        )

    def group_lag(self, group: str) -> GroupLag:
        committed = self.committed(group)
        ends = {where: high for where, (_low, high) in self.watermarks(committed).items()}
        return lag(committed, ends)

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
