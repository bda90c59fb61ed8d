"""Running the live pipeline: start its processors, feed it, and tell when it has settled.

`Pipeline` starts every processor as its own process (`python -m fillstream run NAME`), so a
test can kill one like a real crash; under a restart policy (fillstream/restarts.py) it
starts one that exited again, for the demo and `fillstream up` alike. `Watcher` reads every
pipeline topic (read-committed) and knows when the pipeline is idle: every processor's
consumer group has committed past every record on its inputs. Kafka's lag figures cannot say
this under exactly-once, because the commit marker closing a transaction occupies an offset
no consumer ever "processes".

`feed` publishes market data, signals and commands in time order. In lockstep it lets the
pipeline settle before each signal or command and before moving past it in market time, so
the processors see events in the order the replay harness does, and produce the same fills.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError

from fillstream import settings
from fillstream.cluster_acls import revoke_under
from fillstream.config import load_config
from fillstream.control import signal_topic
from fillstream.infra.topic_io import (
    codec,
    consumer_lag,
    high_watermark,
    make_producer,
    partitions_of,
    reader_group,
    send,
)
from fillstream.processors import PIPELINE, PROCESSORS, build_stage, running
from fillstream.replay import MARKET, timeline
from fillstream.restarts import Restart, RestartPolicy, next_restart
from fillstream.schemas.models import ClockTick, Signal
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import find, key_of
from fillstream.settings.kafka_client import client_config, local_super_user

__all__ = ["Pipeline", "Watcher", "feed", "log_tail", "tick", "wire_signal"]


def delete_run(prefix: str) -> tuple[int, list[str]]:
    """Delete a pipeline run's topics (its processors' changelogs among them), its
    processors' and monitor's consumer groups, and on the secured local broker its ACLs.
    Returns how many topics were deleted and what could not be."""
    # A run's changelogs are its processors' alone: on the secured local broker, the super user
    # deletes them.
    admin = AdminClient(client_config({"log_level": 5}, role_name=local_super_user()))
    groups = [settings.processor_group(name, prefix) for name in (*PROCESSORS, "monitor")]
    for future in admin.delete_consumer_groups(groups, request_timeout=30).values():
        with contextlib.suppress(KafkaException):  # a group that never committed is no group
            future.result()
    names = [name for name in admin.list_topics(timeout=30).topics if prefix in name]
    deleted, failures = 0, []
    for name, future in (admin.delete_topics(names, operation_timeout=30) if names else {}).items():
        try:
            future.result()
            deleted += 1
        except KafkaException as error:
            failures.append(f"{name}: {error}")
    if local_super_user() is not None:  # the run's ACLs, granted on the secured local broker
        revoke_under(admin, prefix)
    return deleted, failures


@dataclass
class Pipeline:
    """Every processor of the pipeline, each in a process of its own.

    Without a `restart_policy` a process that exits is an error (`check_alive` raises); with
    one, `check_alive` starts it again after the policy's wait and tells `on_restart`."""

    config: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path | None = None
    restart_policy: RestartPolicy | None = None
    on_restart: Callable[[Restart], None] | None = None
    started: dict[str, float] = field(default_factory=dict)
    """Each process's start, wall-clock seconds (for status)."""
    restarts: dict[str, int] = field(default_factory=dict)
    _commands: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _since: dict[str, float] = field(default_factory=dict, repr=False)
    _quick_exits: dict[str, int] = field(default_factory=dict, repr=False)
    _due: dict[str, tuple[float, int, float]] = field(default_factory=dict, repr=False)

    def start(self, names: Iterable[str] | None = None, workers: int = 1) -> None:
        """Start `workers` processes of each processor (the pipeline's by default, the ccxt
        gateway too when the configuration has venues for it, the live feed when it names
        venues to read, and one monitor watching them all; the allocator where the
        configuration declares allocation groups): one consumer group each, so Kafka shares the
        partitions among them."""
        if names is None:
            engine = load_config(self.config)
            names = running(engine)
            self.start_one("monitor")
            if engine.feed:  # one only: two would publish every record twice
                self.start_one("feed")
        for name in names:
            for worker in range(workers):
                self.start_one(name, worker)

    def start_one(self, name: str, worker: int = 0) -> None:
        """Start a worker of processor `name`, known as `name` (the first) or `name#worker`."""
        self.spawn(name if worker == 0 else f"{name}#{worker}", self._command("run", name))

    def start_api(self, host: str, port: int) -> None:
        """Start the REST API (`fillstream api`), known as `api`."""
        self.spawn("api", self._command("api", "--host", host, "--port", str(port)))

    def _command(self, *arguments: str) -> list[str]:
        """`fillstream ARGUMENTS`, with the pipeline's config."""
        config = [] if self.config is None else ["--config", str(self.config)]
        return [sys.executable, "-m", "fillstream", *arguments, *config]

    def spawn(self, key: str, command: list[str]) -> None:
        """Start `command` as the process `key` (its output in the log dir's `key.log`)."""
        self._commands[key] = command
        self._launch(key)

    def _launch(self, key: str) -> None:
        command = self._commands[key]
        self.started[key], self._since[key] = time.time(), time.monotonic()
        if self.log_dir is None:
            self.processes[key] = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{key}.log").open("ab") as log:  # the child keeps its own copy
            self.processes[key] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        """Like a crash: SIGKILL, no clean shutdown."""
        process = self.processes.pop(name)
        process.kill()
        process.wait(10)

    def stop_one(self, key: str, timeout: float = 20) -> None:
        """Stop process `key` for good (SIGTERM, SIGKILL after `timeout`): a worker scaled
        away, which leaves its group cleanly and is not restarted."""
        process = self.processes.pop(key)
        for kept in (self._commands, self._since, self._quick_exits, self._due, self.started):
            kept.pop(key, None)
        self.restarts.pop(key, None)
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM every process (a clean shutdown), SIGKILL what is left after `timeout`."""
        self._due.clear()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.processes.clear()

    def check_alive(self) -> None:
        """Raise, with the end of its log (which says why), if a processor has exited; under a
        restart policy, restart it instead once its wait is over."""
        if self.restart_policy is not None:
            self.supervise()
            return
        for name, process in self.processes.items():
            if process.poll() is not None:
                problem = f"processor {name} exited with code {process.returncode}"
                if self.log_dir is not None:
                    log = self.log_dir / f"{name}.log"
                    problem += f"; the end of its log ({log}):\n{log_tail(log)}"
                raise RuntimeError(problem)

    def restarting(self, key: str) -> bool:
        """Whether process `key` has exited and waits to be started again."""
        return key in self._due

    def supervise(self) -> list[Restart]:
        """Note the processes that exited since the last call and start again those whose wait
        (`restart_policy`) is over: what was restarted, each also told to `on_restart`."""
        policy = self.restart_policy or RestartPolicy()
        now = time.monotonic()
        for key, process in self.processes.items():
            if key in self._due or process.poll() is None:
                continue
            exits, delay = next_restart(
                policy, self._quick_exits.get(key, 0), now - self._since[key]
            )
            self._quick_exits[key] = exits
            self._due[key] = (now + delay, process.returncode, delay)
        restarted = []
        for key, (due, exit_code, delay) in list(self._due.items()):
            if now < due:
                continue
            del self._due[key]
            self._launch(key)
            self.restarts[key] = self.restarts.get(key, 0) + 1
            restart = Restart(key, exit_code, self.processes[key].pid, self.restarts[key], delay)
            restarted.append(restart)
            if self.on_restart is not None:
                self.on_restart(restart)
        return restarted


def log_tail(path: Path, lines: int = 8) -> str:
    """The last `lines` non-blank lines of a process's log: its error, when it stopped on one."""
    with path.open("rb") as log:
        log.seek(max(0, log.seek(0, 2) - 8192))
        text = log.read().decode(errors="replace")
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def _inputs() -> dict[str, tuple[str, ...]]:
    """Each processor's input topics, from its stage (built on the default config)."""
    config = load_config()
    return {name: build_stage(name, config).inputs for name in PROCESSORS}


# Answers of a group coordinator that is still loading or moving: a broker just (re)started
# gives them without always marking them retriable.
_COORDINATOR_BUSY = frozenset(
    {
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
    }
)


class Watcher:
    """Reads every pipeline topic and tells when all processors have caught up with it."""

    def __init__(
        self,
        topics: Iterable[str],
        *,
        from_end: bool = False,
        processors: Iterable[str] = PIPELINE,
    ) -> None:
        """Watch `topics` from their beginning (or only what is written after now), waiting
        for `processors` to catch up with them."""
        self.topics = sorted(set(topics))
        running = set(processors)
        self.inputs = {name: inputs for name, inputs in _inputs().items() if name in running}
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.undecodable: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._last: dict[tuple[str, int], int] = {}
        self._admin = AdminClient(client_config())
        self._consumer = Consumer(
            client_config(
                {
                    "group.id": reader_group("watch"),
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "enable.partition.eof": True,
                    "fetch.wait.max.ms": 10,
                }
            )
        )
        metadata = self._consumer.list_topics(timeout=10).topics
        self._partitions = [
            TopicPartition(find(topic).full_name, p, 0)
            for topic in self.topics
            for p in metadata[find(topic).full_name].partitions
        ]
        if from_end:
            for partition in self._partitions:
                partition.offset = high_watermark(self._consumer, partition)
        self._consumer.assign(self._partitions)
        self._at_end: set[tuple[str, int]] = set()
        self._codecs = {topic: codec(find(topic)) for topic in self.topics}
        self._names = {find(topic).full_name: topic for topic in self.topics}

    def close(self) -> None:
        self._consumer.close()

    def drain(self) -> int:
        """Read everything committed so far; how many data records were new.

        A partition is read to its end when the consumer reports end-of-partition after its
        last record: positions cannot tell, since a transaction's closing marker takes an
        offset that no consumer position moves past.
        """
        new = 0
        while True:
            message = self._consumer.poll(0.05)
            if message is None:
                if len(self._at_end) == len(self._partitions):
                    return new
                continue
            where = (message.topic(), message.partition())
            if message.error():
                self._at_end.add(where)
                continue
            self._at_end.discard(where)
            topic = self._names[message.topic()]
            self._last[topic, message.partition()] = message.offset()
            try:
                self.records[topic].append(self._codecs[topic].decode(message.value()))
            except UndecodableRecord as error:  # the processors dead-letter it; note it here
                self.undecodable[topic].append((message.offset(), str(error)))
            new += 1

    def caught_up(self) -> bool:
        """Whether every processor has committed past every record seen on its inputs."""
        for name, topics in self.inputs.items():
            wanted = [TopicPartition(find(t).full_name, p) for (t, p) in self._last if t in topics]
            if not wanted:
                continue
            group = settings.processor_group(name)
            request = [ConsumerGroupTopicPartitions(group, wanted)]
            try:
                result = self._admin.list_consumer_group_offsets(request)[group].result()
            except KafkaException as error:  # a fresh broker's group coordinator still loading
                if error.args[0].retriable() or error.args[0].code() in _COORDINATOR_BUSY:
                    return False
                raise
            committed = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}
            for tp in wanted:
                after = self._last[self._names[tp.topic], tp.partition] + 1  # the last one seen
                if consumer_lag(committed.get((tp.topic, tp.partition), -1), after):
                    return False
        return True

    def settle(self, timeout: float = 60, pipeline: Pipeline | None = None) -> None:
        """Wait until the pipeline is idle: caught up three times running, nothing new between."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 3:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the pipeline did not settle within {timeout} s")
            if pipeline is not None:
                pipeline.check_alive()
            new = self.drain()
            quiet = quiet + 1 if new == 0 and self.caught_up() else 0
            if quiet < 3:
                time.sleep(0.05)


_DECIMAL_FIELDS = ("quantity", "price", "stop_price", "display_quantity", "decision_price")


def wire_signal(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A signal as it travels: valid ones as the model dumps them; an invalid one as sent,
    with decimals parsed and the contract's defaults filled in, so that it still encodes and
    the risk stage, not the transport, answers it (with a reason code)."""
    try:
        return Signal.model_validate(raw).model_dump()
    except ValidationError:
        pass
    wire = dict(raw)
    for name, spec in Signal.model_fields.items():
        if name not in wire and not spec.is_required():
            wire[name] = spec.get_default(call_default_factory=True)
    for name in _DECIMAL_FIELDS:
        if isinstance(wire.get(name), str | int):
            wire[name] = Decimal(str(wire[name]))
    return wire


class _Stamps:
    """Kafka timestamps for what the feeder publishes.

    A processor takes the records at hand earliest Kafka timestamp (milliseconds) first, so
    records are stamped strictly increasing in feed order (records of one millisecond on
    different topics could otherwise be taken in either order). The stamps come from the wall
    clock, not from the records: a recording's own times are years old, and the broker deletes
    records older than a topic's retention (7 days for market data) at its next check, under a
    running pipeline; and spacing them as event times would put a long recording fed at full
    speed hours in the future, past what the broker accepts. Records keep their µs event times
    in their fields, which is all the stages read.
    """

    def __init__(self) -> None:
        self.last_ms = 0

    def next(self) -> int:
        self.last_ms = max(time.time_ns() // 1_000_000, self.last_ms + 1)
        return self.last_ms


_STAMPS = _Stamps()


def feed(
    market: Iterable[Any],
    signals: Iterable[Mapping[str, Any]],
    commands: Iterable[Any] = (),
    *,
    watcher: Watcher | None = None,
    pipeline: Pipeline | None = None,
) -> int:
    """Publish everything in time order; with a watcher, in lockstep. Returns records sent."""
    producer = make_producer(**{"linger.ms": 2})
    codecs: dict[str, Any] = {}
    sent = 0
    for _time_us, rank, topic, record in timeline(market, signals, commands):
        value = wire_signal(record) if topic == "signals" else record.model_dump()
        if topic == "signals":
            topic = signal_topic(value.get("allocation_group"))
        spec = find(topic)
        encoder = codecs.setdefault(topic, codec(spec))
        lockstep = watcher is not None and rank != MARKET
        if lockstep:
            producer.flush(30)
            watcher.settle(pipeline=pipeline)  # type: ignore[union-attr]
        send(producer, spec, encoder.encode(value), key_of(spec, value), timestamp=_STAMPS.next())
        producer.poll(0)
        sent += 1
        if lockstep:
            producer.flush(30)
            watcher.settle(pipeline=pipeline)  # type: ignore[union-attr]
    producer.flush(30)
    return sent


def tick(at_us: int, sequence: int = 0, producer: Producer | None = None) -> int:
    """Publish a clock tick to every partition of `clock` (the punctuator): time passes for
    every stage reading it, even where no market data arrives. Returns the partitions ticked.

    With a `producer` of the caller's (a feed ticking on and on), the ticks are left to it to
    deliver; without one, they are delivered before this returns."""
    spec = find("clock")
    own = producer is None
    producer = producer or make_producer()
    encoder = codec(spec)
    partitions = partitions_of(producer, spec)
    stamp = _STAMPS.next()
    for partition in partitions:
        value = ClockTick(partition=partition, sequence=sequence, timestamp=at_us).model_dump()
        producer.produce(
            spec.full_name,
            value=encoder.encode(value),
            key=key_of(spec, value),
            partition=partition,
            timestamp=stamp,
        )
    if own:
        producer.flush(30)
    return len(partitions)
