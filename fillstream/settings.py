"""Where fillstream keeps its state and which Kafka cluster it talks to.

Everything is read from the environment at call time, so tests and the CLI can
point one process at different brokers without reloading modules.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import platformdirs

__all__ = [
    "DEFAULT_BOOTSTRAP_SERVERS",
    "bootstrap_servers",
    "cache_dir",
    "local_broker_record",
    "partitions",
    "replication_factor",
    "schema_registry_url",
    "state_dir",
    "topic_prefix",
]

DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"


def state_dir() -> Path:
    """Durable state (the demo broker's data): `FILLSTREAM_STATE_DIR` or the user's state dir."""
    return Path(
        os.environ.get("FILLSTREAM_STATE_DIR") or platformdirs.user_state_path("fillstream")
    )


def cache_dir() -> Path:
    """Re-creatable downloads (the broker's jars): `FILLSTREAM_CACHE_DIR` or the user cache."""
    return Path(
        os.environ.get("FILLSTREAM_CACHE_DIR") or platformdirs.user_cache_path("fillstream")
    )


def local_broker_record() -> Path:
    """The file in which `fillstream kafka start` records the running local broker."""
    return state_dir() / "kafka" / "broker.json"


def bootstrap_servers() -> str:
    """`KAFKA_BOOTSTRAP_SERVERS`, else the running local broker, else the Kafka default port."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    record = local_broker_record()
    if record.is_file():
        try:
            return str(json.loads(record.read_text())["bootstrap_servers"])
        except (ValueError, KeyError):
            pass
    return DEFAULT_BOOTSTRAP_SERVERS


def topic_prefix() -> str:
    """Prepended to every catalog topic name (`FILLSTREAM_TOPIC_PREFIX`), e.g. `prod.`."""
    return os.environ.get("FILLSTREAM_TOPIC_PREFIX", "")


def processor_group(processor: str, prefix: str | None = None) -> str:
    """The consumer group of a processor (or the monitor) of the pipeline under a topic prefix:
    `prefix`, else `topic_prefix()`."""
    return f"{topic_prefix() if prefix is None else prefix}fillstream-{processor}"


def schema_registry_url() -> str | None:
    """A Confluent Schema Registry URL switches the wire format to registry framing."""
    return os.environ.get("SCHEMA_REGISTRY_URL") or None


def partitions() -> int:
    """Partitions of every co-partitioned topic (`FILLSTREAM_PARTITIONS`, default 3)."""
    return int(os.environ.get("FILLSTREAM_PARTITIONS", "3"))


def replication_factor() -> int:
    """Replicas per partition (`FILLSTREAM_REPLICATION_FACTOR`): 1 on the local broker."""
    return int(os.environ.get("FILLSTREAM_REPLICATION_FACTOR", "1"))


def processing_guarantee() -> str:
    """`exactly-once` (default: Kafka transactions) or `at-least-once`
    (`FILLSTREAM_PROCESSING_GUARANTEE`); ids make re-deliveries harmless either way."""
    value = os.environ.get("FILLSTREAM_PROCESSING_GUARANTEE", "exactly-once")
    if value not in ("exactly-once", "at-least-once"):
        raise ValueError(
            f"FILLSTREAM_PROCESSING_GUARANTEE={value!r}: use exactly-once or at-least-once"
        )
    return value


def commit_interval(guarantee: str | None = None) -> float:
    """Seconds between a processor's commits (`FILLSTREAM_COMMIT_INTERVAL`).

    Each commit saves the state of every partition that changed, which takes most of a busy
    processor's time when commits come often (docs/BENCHMARKS.md). Under exactly-once a record
    is visible downstream only when its transaction commits, so the interval bounds each hop's
    latency from below: 0.1 by default, as short as pays. A commit waits on several of the
    broker's round trips; at 0.05 that wait filled most of the interval, and the pipeline took
    half as many signals a second for no lower latency. Under at-least-once outputs go out at
    once and a commit only checkpoints, so the default is 0.5: ten times fewer snapshots, for
    more records processed again after a crash, which deterministic ids make harmless."""
    chosen = guarantee or processing_guarantee()
    default = "0.1" if chosen == "exactly-once" else "0.5"
    return float(os.environ.get("FILLSTREAM_COMMIT_INTERVAL", default))


_MAX_LINGER_MS = 900_000  # librdkafka refuses a longer linger.ms


def linger_ms(guarantee: str | None = None) -> int:
    """Milliseconds a processor's producer may hold a record to send it with others.

    The broker's work goes by requests more than by records (docs/BENCHMARKS.md), and a
    processor writes to many partitions, each batched on its own timer, so at librdkafka's
    5 ms most requests carry a record or two. Under exactly-once nothing a processor writes
    can be read before its transaction commits, and the commit flushes the producer, so the
    records wait for the commit at no cost in latency and go out together. Under at-least-once
    outputs can be read once written: librdkafka's 5 ms."""
    if (guarantee or processing_guarantee()) == "exactly-once":
        return min(max(5, round(commit_interval("exactly-once") * 1000)), _MAX_LINGER_MS)
    return 5


def fetch_min_bytes(guarantee: str | None = None) -> int:
    """Bytes the broker gathers for a processor's fetch before answering it, within
    `fetch_wait_ms`. Answering every record's arrival at once costs the broker a request for
    a record or two (docs/BENCHMARKS.md). Under exactly-once each hop already waits up to the
    commit interval, so a fetch may wait for 4 KiB too; under at-least-once a byte, for
    latency."""
    return 4096 if (guarantee or processing_guarantee()) == "exactly-once" else 1


def poll_timeout() -> float:
    """Seconds a processor's poll may wait to fill a batch (`FILLSTREAM_POLL_TIMEOUT`, default
    0.005). Each hop can hold a record this long, so it is short for latency. Quix Streams
    aligns concatenated inputs by timestamp only among the records it has fetched, so a
    longer wait (fuller batches) orders a burst of several topics' records more reliably."""
    return float(os.environ.get("FILLSTREAM_POLL_TIMEOUT", "0.005"))


def fetch_wait_ms() -> int:
    """Milliseconds the broker may hold a processor's fetch while it has too little new
    (`fetch_min_bytes`; `FILLSTREAM_FETCH_WAIT_MS`, default 10; librdkafka's own is 500).
    Quix Streams holds an input's records until it knows every other input of the partition
    is caught up, which a fetch response tells, so this bounds the wait at each hop under
    light traffic; lower costs the broker more empty fetches."""
    value = int(os.environ.get("FILLSTREAM_FETCH_WAIT_MS", "10"))
    if value < 0:
        raise ValueError(f"FILLSTREAM_FETCH_WAIT_MS={value}: use a number of milliseconds ≥ 0")
    return value


def metrics_interval() -> float:
    """Seconds between two publications of a worker's figures on `metrics`
    (`FILLSTREAM_METRICS_INTERVAL`, default 10); the heartbeat goes every second regardless."""
    value = float(os.environ.get("FILLSTREAM_METRICS_INTERVAL", "10"))
    if value <= 0:
        raise ValueError(f"FILLSTREAM_METRICS_INTERVAL={value}: use a positive number of seconds")
    return value


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for this process and the processors it starts; restore them after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
