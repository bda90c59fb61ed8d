"""Where fillstream keeps its state and which Kafka cluster it talks to (the ground floor:
`kafka_client` configures every Kafka client from these, `tables` checks config tables).

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
    "supervisor_record",
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


def supervisor_record() -> Path:
    """The file in which `fillstream up` records its supervisor and the processes it runs."""
    return state_dir() / "supervisor.json"


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
    """`at-least-once` (default: outputs go out at once; a restored partition repeats exactly
    what was published) or `exactly-once` (Kafka transactions; each hop waits for a commit)
    (`FILLSTREAM_PROCESSING_GUARANTEE`)."""
    value = os.environ.get("FILLSTREAM_PROCESSING_GUARANTEE", "at-least-once")
    if value not in ("exactly-once", "at-least-once"):
        raise ValueError(
            f"FILLSTREAM_PROCESSING_GUARANTEE={value!r}: use at-least-once or exactly-once"
        )
    return value


def commit_interval(guarantee: str | None = None) -> float:
    """Seconds between a processor's checkpoints (`FILLSTREAM_COMMIT_INTERVAL`).

    Under at-least-once outputs go out at once and a checkpoint only records the changed state
    and where the inputs stand: 0.5 by default; longer means more records processed again
    after a crash (harmlessly: they give the same outputs). Under exactly-once a record is
    visible downstream only when its transaction commits, so the interval bounds each hop's
    latency from below: 0.1 by default, as short as pays, since a commit waits on several of
    the broker's round trips (docs/BENCHMARKS.md)."""
    chosen = guarantee or processing_guarantee()
    default = "0.1" if chosen == "exactly-once" else "0.5"
    value = float(os.environ.get("FILLSTREAM_COMMIT_INTERVAL", default))
    if value <= 0:
        raise ValueError(f"FILLSTREAM_COMMIT_INTERVAL={value}: use a positive number of seconds")
    return value


_MAX_LINGER_MS = 900_000  # librdkafka refuses a longer linger.ms


def linger_ms(guarantee: str | None = None) -> int:
    """Milliseconds a processor's producer may hold a record to send it with others.

    The broker's work goes by requests more than by records (docs/BENCHMARKS.md). Under
    exactly-once nothing a processor writes can be read before its transaction commits, and
    the commit flushes the producer, so records wait for the commit at no cost in latency.
    Under at-least-once outputs can be read once written: 1 ms, which costs an idle hop a
    millisecond and lets a busy one batch."""
    if (guarantee or processing_guarantee()) == "exactly-once":
        return min(max(5, round(commit_interval("exactly-once") * 1000)), _MAX_LINGER_MS)
    return 1


def fetch_min_bytes(guarantee: str | None = None) -> int:
    """Bytes the broker gathers for a processor's fetch before answering it, within
    `fetch_wait_ms`. Under exactly-once each hop already waits up to the commit interval, so a
    fetch may wait for 4 KiB; under at-least-once a byte, for latency."""
    return 4096 if (guarantee or processing_guarantee()) == "exactly-once" else 1


def poll_timeout() -> float:
    """Seconds a processor waits for a record when none has arrived (`FILLSTREAM_POLL_TIMEOUT`,
    default 0.1). A record that arrives ends the wait at once, so this only bounds how often an
    idle processor checks its commit timer."""
    return float(os.environ.get("FILLSTREAM_POLL_TIMEOUT", "0.1"))


def max_wait_ms() -> int:
    """Milliseconds a processor's shard may wait for an input that has records on the broker
    not fetched yet, before taking its other inputs' records without them
    (`FILLSTREAM_MAX_WAIT_MS`, default 1000). The wait is usually one fetch; the bound keeps
    an input that cannot be fetched from stopping the others."""
    value = int(os.environ.get("FILLSTREAM_MAX_WAIT_MS", "1000"))
    if value < 0:
        raise ValueError(f"FILLSTREAM_MAX_WAIT_MS={value}: use a number of milliseconds ≥ 0")
    return value


def hold_ms() -> int:
    """Milliseconds a processor may hold a record so that records stamped earlier on its other
    inputs are taken first (`FILLSTREAM_HOLD_MS`, default 0: records at hand go earliest
    first, and none waits). A feed replayed faster than real time, whose records of several
    topics must be taken in feed order (the tests that compare the live pipeline with the
    replay harness), needs a hold longer than a record's trip to the processor."""
    value = int(os.environ.get("FILLSTREAM_HOLD_MS", "0"))
    if value < 0:
        raise ValueError(f"FILLSTREAM_HOLD_MS={value}: use a number of milliseconds ≥ 0")
    return value


def fetch_wait_ms() -> int:
    """Milliseconds the broker may hold a processor's fetch while it has too little new
    (`fetch_min_bytes`; `FILLSTREAM_FETCH_WAIT_MS`, default 10; librdkafka's own is 500).
    Under exactly-once, where a fetch waits for 4 KiB, this bounds the wait at each hop under
    light traffic; lower costs the broker more empty fetches. (Under at-least-once a fetch is
    answered as soon as a byte arrives, yet at 500 ms a risk worker of the crash test went a
    whole run under load without one partition's reference prices: docs/BENCHMARKS.md.)"""
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
