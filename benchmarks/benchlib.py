"""Shared pieces of the benchmark scripts: the broker, topics, pre-filling, machine facts.

Imported by the scripts beside it, which Python runs with this directory on their path;
`relay_faust.py` does not use it, because it runs in a virtualenv of its own without
fillstream or confluent-kafka.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata

from confluent_kafka import KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from fillstream.bench.machine import cpu_model
from fillstream.infra.cpu import CLOCK_TICKS, read_times

RECORD_BYTES = 200
"""Every benchmark record's value: an 8-byte big-endian sequence number, then filler."""

_FILLER = bytes(range(256)) * 2


def record_value(seq: int) -> bytes:
    """The value of record `seq`: unique per record, so a reader can spot losses and dups."""
    return struct.pack(">Q", seq) + _FILLER[: RECORD_BYTES - 8]


def record_seq(value: bytes) -> int:
    return int(struct.unpack_from(">Q", value)[0])


@dataclass(frozen=True)
class Broker:
    """Where the benchmark runs: a bootstrap address and what is known about the broker."""

    bootstrap: str
    origin: str
    kafka_version: str


@contextlib.contextmanager
def broker(bootstrap: str | None, kafka_version: str | None = None) -> Iterator[Broker]:
    """`--bootstrap`, else `KAFKA_BOOTSTRAP_SERVERS`, else a fresh `ephemeral_broker()`.

    The ephemeral broker is a local Kafka JVM from the project's `infra/` (its jars are fetched
    once with Maven); it shares this machine's cores with the benchmark, as any local broker.
    """
    unknown = "unknown (pass --kafka-version)"
    if bootstrap:
        yield Broker(bootstrap, "--bootstrap", kafka_version or unknown)
        return
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield Broker(configured, "KAFKA_BOOTSTRAP_SERVERS", kafka_version or unknown)
        return
    try:
        from fillstream.infra.jars import KAFKA_VERSION
        from fillstream.infra.test_brokers import ephemeral_broker
    except ImportError as exc:
        raise SystemExit(
            f"no broker: pass --bootstrap or set KAFKA_BOOTSTRAP_SERVERS ({exc})"
        ) from exc
    print("starting an ephemeral local Kafka broker (infra/test_brokers.py) ...", flush=True)
    with ephemeral_broker() as address:
        yield Broker(address, "ephemeral_broker()", KAFKA_VERSION)


def local_broker_pid() -> int:
    """The pid of the one local broker (`kafka.Kafka`) whose CPU a benchmark reads."""
    found = subprocess.run(["pgrep", "-f", "kafka.Kafka"], capture_output=True, text=True)
    pids = found.stdout.split()
    if len(pids) != 1:
        raise SystemExit(f"{len(pids)} local broker processes (kafka.Kafka): run exactly one")
    return int(pids[0])


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` so far, all its threads, from /proc."""
    times = read_times(pid)
    if times is None:
        raise SystemExit(f"no process {pid} to read the CPU time of")
    return times.ticks / CLOCK_TICKS


class RequestCount:
    """Requests of each type a client has sent, from its statistics callback (`stats_cb`,
    with `statistics.interval.ms` set)."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}

    def __call__(self, payload: str) -> None:
        stats = json.loads(payload)
        sent: dict[str, int] = {}
        for broker in stats["brokers"].values():
            for kind, count in broker.get("req", {}).items():
                sent[kind] = sent.get(kind, 0) + count
        self.sent = sent


def _admin(bootstrap: str) -> AdminClient:
    # log_level 5: without librdkafka's informational lines (e.g. BGQUEUE on close).
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 5})


def unique_name(prefix: str) -> str:
    """A topic or group name no earlier run used: `<prefix>.<12 hex digits>`."""
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def create_topics(
    bootstrap: str,
    names: list[str],
    partitions: int,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Create topics (replication factor 1) and wait until their leaders are known."""
    admin = _admin(bootstrap)
    new = [NewTopic(n, partitions, 1, config=config or {}) for n in names]
    for future in admin.create_topics(new, request_timeout=timeout).values():
        future.result(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=timeout).topics
        if all(
            n in topics
            and topics[n].error is None
            and len(topics[n].partitions) == partitions
            and all(p.leader >= 0 for p in topics[n].partitions.values())
            for n in names
        ):
            return
        time.sleep(0.1)
    raise SystemExit(f"topics {names} have no leaders after {timeout:.0f}s")


def list_topics(bootstrap: str, prefix: str) -> list[str]:
    """The cluster's topics whose names start with `prefix`."""
    admin = _admin(bootstrap)
    return sorted(t for t in admin.list_topics(timeout=30).topics if t.startswith(prefix))


def delete_topics(bootstrap: str, names: list[str], timeout: float = 30.0) -> None:
    """Delete topics, ignoring failures (cleanup on a shared cluster, best effort)."""
    if not names:
        return
    admin = _admin(bootstrap)
    for future in admin.delete_topics(names, request_timeout=timeout).values():
        with contextlib.suppress(KafkaException):
            future.result(timeout)


def end_offsets(bootstrap: str, topic: str, partitions: int) -> int:
    """Sum of the topic's high watermarks: the record count of a non-transactional topic."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("bench.probe")})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in range(partitions)
        )
    finally:
        consumer.close()


def prefill(bootstrap: str, topic: str, partitions: int, count: int) -> float:
    """Write `count` records (seq 0..count-1, round-robin over partitions); return seconds.

    Not part of any measurement: it only makes the relay's input. Verified by the topic's end
    offsets, so a relay run never starts on a short input.
    """
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 20, "delivery.report.only.error": True}
    )
    errors: list[str] = []

    def on_error(err: object, _msg: object) -> None:
        errors.append(str(err))

    started = time.perf_counter()
    for seq in range(count):
        while True:
            try:
                producer.produce(
                    topic, record_value(seq), partition=seq % partitions, on_delivery=on_error
                )
                break
            except BufferError:
                producer.poll(0.01)
        if seq % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120) or errors:
        raise SystemExit(f"pre-filling {topic} failed: {errors[:3]} ...")
    written = end_offsets(bootstrap, topic, partitions)
    if written != count:
        raise SystemExit(f"pre-filling {topic}: {written} records instead of {count}")
    return time.perf_counter() - started


def warm_up(bootstrap: str, count: int) -> float:
    """Produce `count` records to a scratch topic and read them back (untimed); return seconds.

    A freshly started broker runs its produce and fetch paths in the JVM's interpreter until
    the JIT has compiled them, which made whichever benchmark ran first look slow.
    """
    if count <= 0:
        return 0.0
    from confluent_kafka import OFFSET_BEGINNING, Consumer

    started = time.perf_counter()
    topic = unique_name("bench.warmup")
    create_topics(bootstrap, [topic], 1)
    try:
        prefill(bootstrap, topic, 1, count)
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": topic, "fetch.queue.backoff.ms": 10}
        )
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        read, deadline = 0, time.monotonic() + 120
        while read < count and time.monotonic() < deadline:
            read += len(consumer.consume(10_000, 0.5))
        consumer.close()
    finally:
        delete_topics(bootstrap, [topic])
    return time.perf_counter() - started


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(kafka: Broker, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What a reader needs to compare numbers: CPU, cores, load, Python, libraries, Kafka."""
    import confluent_kafka

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    facts = {
        "CPU": cpu_model(),
        "cores": f"{os.cpu_count()} (usable by this process: {usable})",
        "load average (1, 5, 15 min) at start": load,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "confluent-kafka": f"{_version('confluent-kafka')} (librdkafka "
        f"{confluent_kafka.libversion()[0]})",
        "quixstreams": _version("quixstreams"),
        "Kafka": f"{kafka.kafka_version} ({kafka.origin}: {kafka.bootstrap})",
    }
    facts.update(extra or {})
    return facts


def print_facts(facts: dict[str, str]) -> None:
    for key, value in facts.items():
        print(f"- {key}: {value}")
    print()


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()
