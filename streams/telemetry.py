"""A worker's figures: counted with prometheus_client as records pass, published on `metrics`.

Every processor counts what goes in and out, what it dead-letters, how long a record took from
its Kafka timestamp to the end of its handling (the hop's latency, a histogram per input topic)
and, for risk, its rejections by reason code. A background thread publishes them:

- `heartbeat` every second (value: wall-clock seconds). It says the worker's process lives and
  reaches the broker; the gateway's dead man's switch watches the executors' heartbeats.
  Beside it, the process's `process_cpu_percent` (over the last beat, from /proc/self) and
  `process_resident_memory_bytes`: what a worker costs, for ops deciding how many to run.
- every `FILLSTREAM_METRICS_INTERVAL` seconds (10 by default) the registry, Prometheus-style
  (`records_in_total{topic}`, `hop_latency_seconds_bucket{topic, le}`, `_sum`, `_count`, …),
  `consumer_lag{topic, partition}` of the worker's consumer group, and
  `partition_assigned{partition}` (1 held, 0 not, for every partition of the inputs): which
  shards the group gave this worker, read from the broker's description of the group, where
  each member's `client.id` names its worker (fillstream/kafka_client.py).

Each record carries a `worker` label (host:pid), so figures of several workers of one
processor stay apart. The registry is the worker's own: processes do not share one, and the
API serves the latest of every series from the topic.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric as Family

from fillstream import settings
from fillstream.infra.cpu import (
    ProcessTimes,
    cpu_percent,
    read_times,
    resident_bytes,
    ticks_between,
)
from fillstream.infra.topic_io import codec, consumer_lag, make_producer, send
from fillstream.schemas.models import Metric, MetricKind
from fillstream.schemas.topics import find, key_of
from fillstream.settings.kafka_client import client_config, worker_id

__all__ = [
    "Publisher",
    "Telemetry",
    "heartbeat",
    "metric_records",
    "partition_records",
    "usage_records",
    "worker_id",
]

log = logging.getLogger("fillstream.telemetry")

# Seconds: from a fast in-process hop to a backlog that ops must look at.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

_KINDS = {"counter": MetricKind.COUNTER, "gauge": MetricKind.GAUGE}


class Telemetry:
    """The figures of one worker of `processor`, in a registry of its own."""

    def __init__(self, processor: str) -> None:
        self.processor = processor
        self.registry = CollectorRegistry(auto_describe=True)
        self.records_in = Counter("records_in", "records taken", ["topic"], registry=self.registry)
        self.records_out = Counter(
            "records_out", "records published", ["topic"], registry=self.registry
        )
        self.deadletters = Counter(
            "deadletters", "records dead-lettered", ["topic"], registry=self.registry
        )
        self.rejections = Counter(
            "rejections", "signals refused, by reason code", ["reason"], registry=self.registry
        )
        self.shards_taken = Counter(
            "shards_taken",
            "partitions taken up: restored from the changelog, or kept as checkpointed",
            ["how"],
            registry=self.registry,
        )
        self.hop_latency = Histogram(
            "hop_latency_seconds",
            "input record's Kafka timestamp to the end of its handling",
            ["topic"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )


def metric_records(
    processor: str, worker: str, families: Iterable[Family], now_us: int
) -> list[Metric]:
    """Prometheus families as `Metric` records; the `_created` timestamps are left out."""
    records = []
    for family in families:
        kind = _KINDS.get(family.type, MetricKind.HISTOGRAM)
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            records.append(
                Metric(
                    processor=processor,
                    name=sample.name,
                    kind=kind,
                    value=float(sample.value),
                    labels={**sample.labels, "worker": worker},
                    timestamp=now_us,
                )
            )
    return records


def heartbeat(processor: str, worker: str, now_us: int) -> Metric:
    return Metric(
        processor=processor,
        name="heartbeat",
        kind=MetricKind.GAUGE,
        value=now_us / 1e6,
        labels={"worker": worker},
        timestamp=now_us,
    )


def _gauge(
    processor: str, worker: str, name: str, value: float, now_us: int, **labels: str
) -> Metric:
    return Metric(
        processor=processor,
        name=name,
        kind=MetricKind.GAUGE,
        value=value,
        labels={**labels, "worker": worker},
        timestamp=now_us,
    )


def usage_records(
    processor: str, worker: str, cpu: float | None, resident: int | None, now_us: int
) -> list[Metric]:
    """The worker's CPU (% of one core) and resident memory (bytes); what is unknown (the
    first beat's CPU, a system without /proc) is left out rather than reported as 0."""
    records = []
    if cpu is not None:
        records.append(_gauge(processor, worker, "process_cpu_percent", cpu, now_us))
    if resident is not None:
        records.append(
            _gauge(processor, worker, "process_resident_memory_bytes", float(resident), now_us)
        )
    return records


def partition_records(
    processor: str, worker: str, held: Iterable[int], partitions: Iterable[int], now_us: int
) -> list[Metric]:
    """`partition_assigned` for every partition number of the inputs: 1 for those the worker
    holds, 0 for the others, so a partition that moved away reads 0 at once (a series of held
    partitions alone would keep a lost one's last 1)."""
    mine = set(held)
    return [
        _gauge(
            processor,
            worker,
            "partition_assigned",
            float(p in mine),
            now_us,
            partition=str(p),
        )
        for p in sorted(set(partitions))
    ]


def lag_records(
    processor: str,
    worker: str,
    committed: Iterable[tuple[str, int, int]],
    ends: dict[tuple[str, int], int],
    now_us: int,
) -> list[Metric]:
    """`consumer_lag` per partition: end offset minus the group's committed offset (the whole
    partition when nothing is committed yet)."""
    records = []
    for topic, partition, offset in committed:
        end = ends.get((topic, partition))
        if end is None:
            continue
        records.append(
            Metric(
                processor=processor,
                name="consumer_lag",
                kind=MetricKind.GAUGE,
                value=float(consumer_lag(offset, end)),
                labels={"topic": topic, "partition": str(partition), "worker": worker},
                timestamp=now_us,
            )
        )
    return records


class Publisher:
    """The thread that publishes a worker's heartbeat and figures on `metrics`."""

    def __init__(
        self,
        telemetry: Telemetry,
        *,
        group: str | None = None,
        topics: Iterable[str] = (),
        extra: Callable[[], list[Metric]] = list,
    ) -> None:
        self.telemetry = telemetry
        self.worker = worker_id()
        self._group = group
        self._topics = [find(topic).full_name for topic in topics]
        self._extra = extra
        self._spec = find("metrics")
        self._codec = codec(self._spec)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"{telemetry.processor}-metrics", daemon=True
        )

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        producer = make_producer()
        lag_consumer = self._lag_consumer()
        admin = None if lag_consumer is None else AdminClient(client_config())
        interval = settings.metrics_interval()
        next_figures = time.monotonic() + min(interval, 2.0)
        usage = _Usage()
        try:
            while not self._stop.is_set():
                now_us = time.time_ns() // 1000
                processor = self.telemetry.processor
                records = [
                    heartbeat(processor, self.worker, now_us),
                    *usage_records(processor, self.worker, *usage.sample(), now_us),
                ]
                if time.monotonic() >= next_figures:
                    records += self._figures(now_us, lag_consumer, admin)
                    next_figures = time.monotonic() + interval
                for record in records:
                    value = record.model_dump()
                    send(producer, self._spec, self._codec.encode(value), key_of(self._spec, value))
                producer.poll(0)
                self._stop.wait(1.0)
        except Exception:  # figures must never take a processor down
            log.exception("the metrics publisher of %s stopped", self.telemetry.processor)
        finally:
            producer.flush(5)
            if lag_consumer is not None:
                lag_consumer.close()

    def _figures(
        self, now_us: int, lag_consumer: Consumer | None, admin: AdminClient | None
    ) -> list[Metric]:
        processor = self.telemetry.processor
        records = metric_records(processor, self.worker, self.telemetry.registry.collect(), now_us)
        records += self._extra()
        if lag_consumer is not None and admin is not None:
            try:
                records += self._lag(lag_consumer, now_us)
                records += self._assignment(admin, lag_consumer, now_us)
            except Exception as error:  # the broker's answer is late: next time
                log.debug("consumer lag of %s not read: %s", processor, error)
        return records

    def _assignment(self, admin: AdminClient, consumer: Consumer, now_us: int) -> list[Metric]:
        """This worker's partitions, as the group coordinator describes the group: nothing
        while this worker is not a member (starting, or the group rebalancing)."""
        group = str(self._group)
        try:
            description = admin.describe_consumer_groups([group], request_timeout=5)[group].result()
        except KafkaException as error:
            log.debug("group %s not described: %s", group, error)
            return []
        me = client_config()["client.id"]
        held = [m for m in description.members if m.client_id == me]
        if not held:
            return []
        metadata = consumer.list_topics(timeout=5).topics
        partitions = {
            p for topic in self._topics if topic in metadata for p in metadata[topic].partitions
        }
        return partition_records(
            self.telemetry.processor,
            self.worker,
            (tp.partition for member in held for tp in member.assignment.topic_partitions),
            partitions,
            now_us,
        )

    def _lag_consumer(self) -> Consumer | None:
        if self._group is None or not self._topics:
            return None
        return Consumer(
            client_config(
                {
                    "group.id": self._group,  # reads the group's offsets; never joins or commits
                    "enable.auto.commit": False,
                }
            )
        )

    def _lag(self, consumer: Consumer, now_us: int) -> list[Metric]:
        metadata = consumer.list_topics(timeout=5)
        partitions = [
            TopicPartition(topic, number)
            for topic in self._topics
            if topic in metadata.topics
            for number in metadata.topics[topic].partitions
        ]
        committed = consumer.committed(partitions, timeout=5)
        ends = {}
        for tp in partitions:
            _low, high = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            ends[(tp.topic, tp.partition)] = high
        prefix = settings.topic_prefix()
        return lag_records(
            self.telemetry.processor,
            self.worker,
            [(tp.topic.removeprefix(prefix), tp.partition, tp.offset) for tp in committed],
            {(topic.removeprefix(prefix), p): end for (topic, p), end in ends.items()},
            now_us,
        )


class _Usage:
    """This process's CPU since the previous sample and its resident memory now."""

    def __init__(self) -> None:
        self._last: tuple[ProcessTimes | None, float] = (read_times(os.getpid()), time.monotonic())

    def sample(self) -> tuple[float | None, int | None]:
        times, at = read_times(os.getpid()), time.monotonic()
        before, since = self._last
        self._last = (times, at)
        return cpu_percent(ticks_between(before, times), at - since), resident_bytes(os.getpid())
