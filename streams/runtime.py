"""The live shell: a processor's loop, directly on confluent-kafka.

One loop serves every processor: take the records that have arrived (in arrival order across
the processor's inputs), hand each partition's records to that partition's stage, publish what
it emits, and commit now and then. The inputs are co-partitioned, so partition number p of
every input is one shard of the work, with a stage of its own; Kafka's consumer group decides
which worker holds which shards (the range assignor, which gives one consumer the same
partition number of every topic). A stage that declares `sees_all` (the monitor) is one shard
over every partition of its inputs instead, assigned without a group.

Each shard's memory lives in the processor's changelog topic, partition p (`streams.changelog`,
`streams.memory`): a worker that gains a shard restores it from there and seeks the inputs to
where its last checkpoint stood; one that loses it checkpoints first. A checkpoint writes only
the entries that changed since the last.

Under **at-least-once** (the default) outputs go out at once and a checkpoint every commit
interval says where the inputs stand. Records after the checkpoint are processed again by
whoever restores the shard, and must then give the same outputs: before a batch's outputs are
published, the order in which the batch was taken is journaled to the changelog
(`streams.sequencer`), and a restored shard follows that journal before anything else.
Under **exactly-once**, outputs, checkpoints and input offsets go in one Kafka transaction per
commit interval; nothing needs journaling, as nothing uncommitted can be seen.

A record that cannot be decoded or makes the stage raise goes to `deadletter` with the reason,
and the loop carries on. Losing the broker is waited out: nothing here gives up on a record.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from fillstream import settings
from fillstream.infra.kafka_access import AUTHORIZATION, KafkaAccessRefused, explain
from fillstream.infra.topic_io import BROKER_AWAY, high_watermark, send, watermarks
from fillstream.infra.topics import ensure_topics
from fillstream.schemas.models import BatchingProfile, DeadLetter, Metric, MetricKind, Record
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import TopicSpec, changelog, event_time, find
from fillstream.settings.kafka_client import client_config
from fillstream.streams.changelog import Recovered, checkpoint_records, fold, journal_record
from fillstream.streams.memory import Memory
from fillstream.streams.profiles import Batching, configured, of_record
from fillstream.streams.records import TopicRecords, topic_records
from fillstream.streams.sequencer import NEVER, Sequencer, runs_of
from fillstream.streams.stages import Emit, Stage
from fillstream.streams.telemetry import Publisher, Telemetry, worker_id

__all__ = ["Processor", "changelog_reader", "read_changelog", "run_processor", "save"]

log = logging.getLogger("fillstream.runtime")

T = TypeVar("T")

BATCH = 500  # records asked of the client at once
TAKE = 20_000  # records taken into one loop's batch, at most


class Shard:
    """One partition number's stage, its memory and where its inputs stand."""

    def __init__(self, stage: Stage, recovered: Recovered) -> None:
        self.stage = stage
        self.memory = Memory(stage)
        if recovered.entries:
            self.memory.restore(recovered.entries)
        self.position = dict(recovered.position)  # input topic → next offset
        self.number = recovered.number  # the last checkpoint
        self.sequence = recovered.sequence  # the next journal record
        self.sequencer: Sequencer[Message] = Sequencer(recovered.journal)
        self.rewrite = (recovered.puts, recovered.removed)
        self.dirty = bool(recovered.journal or recovered.puts or recovered.removed)
        self.waiting_since: int | None = None  # ms: since records wait for a lagging input


Output = tuple[TopicSpec, bytes | None, Record, int]


class Batch:
    """What one batch of records causes: the outputs to publish, and what to count."""

    __slots__ = ("outputs", "reasons", "taken")

    def __init__(self) -> None:
        # (topic, key, record, Kafka timestamp): an output carries its input's timestamp, and
        # is encoded when it is published
        self.outputs: list[Output] = []
        self.taken: list[tuple[str, int]] = []  # (input topic, Kafka timestamp µs)
        self.reasons: list[str] = []

    def publishable(self) -> list[Output]:
        """The outputs, less those a later output of the batch supersedes: on a compacted
        topic only a key's latest value counts, so an order's several `orders.state` updates in
        one batch go out as its last (each version's content is the same whichever batch it
        falls in, so a batch processed again after a crash contradicts nothing)."""
        latest = {
            (spec.name, key): index
            for index, (spec, key, _, _) in enumerate(self.outputs)
            if spec.cleanup_policy == "compact"
        }
        if len(latest) == sum(spec.cleanup_policy == "compact" for spec, *_ in self.outputs):
            return self.outputs
        return [
            output
            for index, output in enumerate(self.outputs)
            if output[0].cleanup_policy != "compact" or latest[output[0].name, output[1]] == index
        ]

    def count(self, telemetry: Telemetry, published: list[str]) -> None:
        """The batch's figures, once its outputs are handed to the producer: an input's hop
        latency runs from its Kafka timestamp to then."""
        now = time.time()
        for topic, stamp_us in self.taken:
            telemetry.hop_latency.labels(topic).observe(max(now - stamp_us / 1e6, 0.0))
        for topic, count in Counter(topic for topic, _ in self.taken).items():
            telemetry.records_in.labels(topic).inc(count)
        for topic, count in Counter(published).items():
            telemetry.records_out.labels(topic).inc(count)
        for reason, count in Counter(self.reasons).items():
            telemetry.rejections.labels(reason).inc(count)


class Processor:
    """The loop of one worker of processor `name`."""

    def __init__(
        self, name: str, build: Callable[[], Stage], telemetry: Telemetry | None = None
    ) -> None:
        self.name = name
        self.build = build
        self.telemetry = telemetry or Telemetry(name)
        stage = build()
        self.inputs = stage.inputs
        self.outputs = stage.outputs
        # One shard over every partition of the inputs, from their ends (the monitor).
        self.sees_all: bool = getattr(stage, "sees_all", False)
        # A shell that acts as time passes as well as on records (the gateway's venue polls):
        # the processor's, once a turn, whichever shards it holds (none, mid-rebalance).
        self.timer: Stage | None = stage if callable(getattr(stage, "on_time", None)) else None
        self._timed_outputs = False  # under exactly-once: the open transaction holds some
        self.guarantee = settings.processing_guarantee()
        self.exactly_once = self.guarantee == "exactly-once"
        # One input topic: its offsets alone fix the order, nothing to merge or journal.
        self.merged = len(self.inputs) > 1
        self.journaled = not self.exactly_once and self.merged
        self.hold_ms = settings.hold_ms()
        self.max_wait_ms = settings.max_wait_ms()
        self.poll_timeout = settings.poll_timeout()
        self.group = settings.processor_group(name)
        self.changelog = changelog(name)
        topics = [find(topic) for topic in (*self.inputs, *self.outputs, "deadletter", "profiles")]
        _waiting_out_the_broker(name, lambda: ensure_topics([*topics, self.changelog]))
        self.topic_of = {find(topic).full_name: topic for topic in self.inputs}
        self.specs = {topic: find(topic) for topic in (*self.outputs, "deadletter")}
        self.codecs: dict[str, TopicRecords] = {
            topic: topic_records(topic)
            for topic in {*self.inputs, *self.outputs, "deadletter", "profiles"}
        }
        # The batching in force: the latest profile on `profiles`, else the configured one.
        self.batching = configured(self.guarantee)
        self.profile: BatchingProfile | None = None
        self.profiles = changelog_reader(f"{self.group}-profile")
        _waiting_out_the_broker(name, self._read_profiles)
        self.interval = self.batching.commit_interval_ms / 1000
        self.shards: dict[int, Shard] = {}
        # Shards checkpointed when revoked, with their changelog partition's end then: one
        # that comes back with that end unmoved is taken up as it is, not restored.
        self.kept: dict[int, tuple[Shard, int]] = {}
        self.stopping = threading.Event()
        self._failure: Exception | None = None  # a delivery failed: raised by the loop
        self.consumer = Consumer(self._consumer_config())
        self.producer = Producer(self._producer_config(transactional=self.exactly_once))
        # Under at-least-once the journal and checkpoints go on a producer of their own that
        # never lingers: a batch's outputs wait for its journal record's acknowledgement.
        self.state_producer = (
            self.producer
            if self.exactly_once
            else Producer(self._producer_config(transactional=False, linger_ms=0))
        )
        self.restorer = changelog_reader(f"{self.group}-restore")
        # (source, partition) of each input partition a `sees_all` shard reads
        self.watched: list[tuple[str, TopicPartition]] = []
        self._inputs: dict[int, tuple[list[TopicPartition], dict[tuple[str, int], str]]] = {}
        if self.sees_all:
            _waiting_out_the_broker(name, self._assign_all)

    # -- configuration ---------------------------------------------------------------------

    def _consumer_config(self) -> dict[str, Any]:
        return client_config(
            {
                "group.id": self.group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                # The range assignor gives one consumer partition p of every input: a shard whole.
                "partition.assignment.strategy": "range",
                # A worker that dies holds its partitions this long (the broker's least).
                "session.timeout.ms": 6_000,
                "heartbeat.interval.ms": 1_000,
                "fetch.wait.max.ms": self.batching.fetch_wait_ms,
                "fetch.min.bytes": self.batching.fetch_min_bytes,
            }
        )

    def _producer_config(self, *, transactional: bool, linger_ms: int | None = None) -> dict:
        config = client_config(
            {
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "linger.ms": self.batching.linger_ms if linger_ms is None else linger_ms,
                "batch.num.messages": self.batching.batch_messages,
                "message.timeout.ms": 0,  # never give a record up: wait the broker out
            }
        )
        if transactional:
            config["transactional.id"] = f"{self.group}-{uuid.uuid4().hex[:12]}"
            # A crashed worker's open transaction holds readers back until it times out.
            config["transaction.timeout.ms"] = 10_000
        return config

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        """Process until `stopping` is set (SIGTERM and SIGINT set it in `run_processor`)."""
        if self.exactly_once:
            self.producer.init_transactions()
            self.producer.begin_transaction()
        if not self.sees_all:
            self.consumer.subscribe(
                [find(topic).full_name for topic in self.inputs],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
        due = time.monotonic() + self.interval
        try:
            while not self.stopping.is_set():
                messages = self._take()
                if messages or self.hold_ms or self._waiting():
                    self._handle(messages)
                if self.timer is not None:
                    self._elapse(self.timer)
                self.producer.poll(0)
                if self._failure is not None:
                    raise self._failure
                if time.monotonic() >= due:
                    self.commit()
                    self._follow_profiles()
                    _age_state()
                    due = time.monotonic() + self.interval
            self.commit()
        finally:
            self.consumer.close()  # leaves the group: the revoke checkpoints what is held
            self.producer.flush(10)
            self.state_producer.flush(10)
            self.restorer.close()
            self.profiles.close()

    def _take(self) -> list[Message]:
        """Everything the client has fetched (up to `TAKE` records), at once; else wait up to
        the poll timeout for the first record. (`consume` alone would wait out its timeout
        unless a whole batch came.) The client queues a fetch partition by partition: taking
        all of it lets the sequencer order records of every input that have arrived, where a
        part of it could hold one topic's backlog and none of another's."""
        messages = self.consumer.consume(BATCH, 0)
        if not messages:
            held = self.hold_ms and any(shard.sequencer.held for shard in self.shards.values())
            first = self.consumer.poll(0.001 if held else self.poll_timeout)
            if first is None:
                return []
            messages = [first]
        while len(messages) < TAKE:
            more = self.consumer.consume(BATCH, 0)
            messages += more
            if len(more) < BATCH:
                break
        return messages

    def _handle(self, messages: list[Message]) -> None:
        """Hand each shard what has arrived, take what is due in order, journal it, process
        it, then publish what it caused."""
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():  # the consumer is done for: exit, loudly
                    raise KafkaException(error)
                if error.code() in AUTHORIZATION:  # retrying cannot mend a missing ACL
                    group = error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
                    raise _failure(error, self.group if group else message.topic())
                log.warning("%s: consumer: %s", self.name, error)
                continue
            shard = self.shards.get(0 if self.sees_all else message.partition())
            if shard is not None:  # else revoked since it was fetched
                source = self._source(self.topic_of[message.topic()], message.partition())
                shard.sequencer.add(source, message.offset(), message.timestamp()[1], message)
        now_ms = time.time_ns() // 1_000_000
        horizon = now_ms - self.hold_ms if self.hold_ms else NEVER
        batch = Batch()
        journaled: list[list[bool]] = []
        for partition, shard in self.shards.items():
            if not shard.sequencer.held:
                continue
            lagging = self._lagging(partition, shard, now_ms) if self.merged else frozenset()
            replayed, fresh = shard.sequencer.take(horizon, lagging)
            if not (lagging and shard.sequencer.held):
                shard.waiting_since = None
            elif shard.waiting_since is None:
                shard.waiting_since = now_ms
            if not (replayed or fresh):
                continue
            shard.dirty = True
            if self.journaled and fresh:
                key, value = journal_record(shard.number, shard.sequence, runs_of(fresh))
                shard.sequence += 1
                acked = [False]
                journaled.append(acked)
                send(
                    self.state_producer,
                    self.changelog,
                    value,
                    key,
                    partition=partition,
                    on_delivery=self._on_journaled(acked),
                )
            for message in (*replayed, *(item for _, _, item in fresh)):
                self._process(shard, message, batch)
        if journaled:  # nothing a batch causes is published before its order is durable
            self.state_producer.flush()
            if not all(acked[0] for acked in journaled):
                raise self._failure or KafkaException("a journal record was not delivered")
        self._publish(batch)

    def _elapse(self, timer: Stage) -> None:
        """What the processor does as time passes, published as it comes. Nothing orders it
        among the records, so only a stage whose memory is its own (the gateway's journal) may
        act on time."""
        now_us = time.time_ns() // 1000
        batch = Batch()
        self._emitted(timer.on_time(now_us), now_us // 1000, batch)  # type: ignore[attr-defined]
        self._timed_outputs |= bool(batch.outputs)
        self._publish(batch)

    def _publish(self, batch: Batch) -> None:
        published: list[str] = []
        # A record on two topics of one contract (a fill on `fills` and `fills.accounts`, an
        # order's final state on `orders.state` and `orders.ended`) is encoded once.
        encoded: dict[tuple[int, str], bytes] = {}
        for spec, key, record, stamp in batch.publishable():
            codec = self.codecs[spec.name]
            value = encoded.get((id(record), codec.encoding))
            if value is None:
                value = encoded[id(record), codec.encoding] = codec.encode(record)
            send(self.producer, spec, value, key, timestamp=stamp, on_delivery=self._on_delivery)
            published.append(spec.name)
        batch.count(self.telemetry, published)

    def _waiting(self) -> bool:
        return any(shard.waiting_since is not None for shard in self.shards.values())

    def _lagging(self, partition: int, shard: Shard, now_ms: int) -> frozenset[str]:
        """The shard's inputs with records on the broker not at hand yet (or not known yet):
        records stamped later on other inputs wait for them, as Kafka Streams' tasks do, so
        that a shard catching up (after a start, a restore or a pause) takes a backlog in its
        own order, not signals before the prices that came with them. None once the shard has
        waited `max_wait_ms` for them."""
        if shard.waiting_since is not None and now_ms - shard.waiting_since >= self.max_wait_ms:
            return frozenset()
        inputs, source_of = self._inputs_of(partition)
        lagging = set()
        for tp in self.consumer.position(inputs):
            source = source_of[tp.topic, tp.partition]
            low, high = self.consumer.get_watermark_offsets(tp, cached=True) or (-1, -1)
            # Nothing received yet: the position is where the shard's inputs were sought.
            at = tp.offset if tp.offset >= 0 else max(shard.position.get(source, 0), low)
            if high < 0 or at < high:  # its end not known yet, or records not at hand
                lagging.add(source)
        return frozenset(lagging)

    def _inputs_of(self, partition: int) -> tuple[list[TopicPartition], dict[tuple[str, int], str]]:
        """Shard `partition`'s input partitions, and the source each (topic, partition) is."""
        known = self._inputs.get(partition)
        if known is None:
            sources = self.watched or [
                (topic, TopicPartition(find(topic).full_name, partition)) for topic in self.inputs
            ]
            known = self._inputs[partition] = (
                [tp for _, tp in sources],
                {(tp.topic, tp.partition): source for source, tp in sources},
            )
        return known

    def _source(self, topic: str, partition: int) -> str:
        """What the shard's sequencer, journal and position call an input partition: its topic,
        as partition p of every input is shard p's; `topic@p` in a shard that sees all."""
        return f"{topic}@{partition}" if self.sees_all else topic

    def _input(self, source: str, partition: int, offset: int) -> TopicPartition:
        """The input partition `source` names in shard `partition`, at `offset`."""
        topic, _, number = source.rpartition("@") if self.sees_all else (source, "", partition)
        return TopicPartition(find(topic).full_name, int(number), offset)

    def _process(self, shard: Shard, message: Message, batch: Batch) -> None:
        topic = self.topic_of[message.topic()]
        shard.position[self._source(topic, message.partition())] = message.offset() + 1
        stamp_ms = message.timestamp()[1]
        stamp_us = stamp_ms * 1000
        batch.taken.append((topic, stamp_us))
        try:
            record = self.codecs[topic].decode_input(message.value())
        except UndecodableRecord as error:
            batch.outputs.append(self._dead_letter(message, stamp_us, error))
            return
        try:
            emits = shard.stage.handle(topic, record, event_time(topic, record, stamp_us))
        except Exception as error:  # a stage bug must not stop the pipeline: keep the record
            log.error("%s failed on %s: %s", self.name, topic, traceback.format_exc())
            batch.outputs.append(self._dead_letter(message, stamp_us, error))
            return
        self._emitted(emits, stamp_ms, batch)

    def _emitted(self, emits: list[Emit], stamp_ms: int, batch: Batch) -> None:
        for emit in emits:
            record = emit.record
            key = self.codecs[emit.topic].key(record)
            batch.outputs.append((self.specs[emit.topic], key, record, stamp_ms))  # type: ignore[arg-type]
            if emit.topic == "orders.rejected":
                batch.reasons.append(record.reason_code)  # type: ignore[attr-defined]

    def _dead_letter(self, message: Message, stamp_us: int, error: Exception) -> Output:
        """The record, kept with the reason; stamped with the record's own time, so that one
        processed again is dead-lettered again in the very same terms."""
        self.telemetry.deadletters.labels(self.topic_of[message.topic()]).inc()
        record = DeadLetter(
            processor=self.name,
            source_topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            key=message.key(),
            value=message.value(),
            error_type=type(error).__name__,
            error=str(error)[:2000],
            timestamp=stamp_us,
        )
        key = self.codecs["deadletter"].key(record)
        return self.specs["deadletter"], key, record, stamp_us // 1000

    def _on_journaled(self, acked: list[bool]) -> Callable[[KafkaError | None, Message], None]:
        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is None:
                acked[0] = True
            else:
                self._failure = _failure(error, message.topic())

        return delivered

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:  # not retriable (records wait the broker out): fail loudly
            log.error("%s: a record was not delivered: %s", self.name, error)
            self._failure = _failure(error, message.topic())

    # -- checkpoints -----------------------------------------------------------------------

    def commit(self, partitions: list[int] | None = None) -> None:
        """Checkpoint the shards that processed records since their last checkpoint, and
        commit the input offsets they stand at."""
        # Under exactly-once the transaction holds every shard's outputs: all are checkpointed.
        held = list(self.shards) if partitions is None or self.exactly_once else partitions
        # A shard still following its journal waits: a checkpoint starts a journal of its own,
        # and the runs not followed yet would be lost to whoever restores the shard next.
        chosen = [
            p for p in held if self.shards[p].dirty and not self.shards[p].sequencer.following
        ]
        if not chosen and not (self.exactly_once and self._timed_outputs):
            return
        if not self.exactly_once:
            self.producer.flush()  # what the checkpoint covers is published first
            if self._failure is not None:
                raise self._failure
        offsets: list[TopicPartition] = []
        for partition in chosen:
            shard = self.shards[partition]
            puts, removed = shard.memory.changes()
            if shard.rewrite[0] or shard.rewrite[1]:
                puts = {**shard.rewrite[0], **puts}
                removed = [key for key in shard.rewrite[1] if key not in puts] + removed
                shard.rewrite = ({}, [])
            shard.number += 1
            save(
                self.state_producer,
                self.changelog.full_name,
                partition,
                checkpoint_records(shard.number, shard.position, puts, removed),
            )
            shard.sequence = 0
            shard.dirty = False
            offsets += [
                self._input(source, partition, offset) for source, offset in shard.position.items()
            ]
        if self.exactly_once:
            if offsets:
                self.producer.send_offsets_to_transaction(
                    offsets, self.consumer.consumer_group_metadata()
                )
            self.producer.commit_transaction()
            self.producer.begin_transaction()
            self._timed_outputs = False
            return
        self.state_producer.flush()
        if offsets:  # for lag figures and tools; the checkpoint's position is what counts
            self.consumer.commit(offsets=offsets, asynchronous=True)

    # -- batching profiles -----------------------------------------------------------------

    def _read_profiles(self) -> None:
        """Read `profiles` to its end, at start: the profile in force is the latest."""
        spec = find("profiles")
        tp = TopicPartition(spec.full_name, 0, OFFSET_BEGINNING)
        self.profiles.assign([tp])
        for _key, value in read_to_end(self.profiles, tp, self.name, keep_assigned=True):
            self._take_profile(value)
        if self.profile is not None:
            self.batching = of_record(self.profile)
            log.info("%s: batching profile in force: %s", self.name, self.batching)

    def _follow_profiles(self) -> None:
        """A profile asked for since, applied now: at a batch boundary, just after a commit."""
        latest = self.profile
        for message in self.profiles.consume(100, 0):
            if message.error() is None:
                self._take_profile(message.value())
        if self.profile is not latest and self.profile is not None:
            self._apply(of_record(self.profile))

    def _take_profile(self, value: bytes | None) -> None:
        try:
            record = self.codecs["profiles"].decode_input(value)
        except UndecodableRecord as error:
            log.warning("%s: a batching profile skipped: %s", self.name, error)
            return
        if self.profile is None or record.created_at >= self.profile.created_at:
            self.profile = record

    def _apply(self, batching: Batching) -> None:
        """New producers where their batching changed; a new consumer where its fetches did
        (its partitions go back to the group, checkpointed, and come back as when a worker
        leaves and joins: kept as they were when nobody took them up meanwhile, else restored);
        the next commit interval."""
        if batching == self.batching:
            return
        log.info("%s: batching profile: %s", self.name, batching)
        self.interval = batching.commit_interval_ms / 1000
        old, self.batching = self.batching, batching
        if (old.linger_ms, old.batch_messages) != (batching.linger_ms, batching.batch_messages):
            self._new_producer()
        fetch = (batching.fetch_wait_ms, batching.fetch_min_bytes)
        if not self.sees_all and (old.fetch_wait_ms, old.fetch_min_bytes) != fetch:
            self._new_consumer()

    def _new_producer(self) -> None:
        old = self.producer
        if self.exactly_once:  # just after a commit: what the transaction holds, if anything
            old.commit_transaction()
            self._timed_outputs = False
        old.flush()
        if self._failure is not None:
            raise self._failure
        self.producer = Producer(self._producer_config(transactional=self.exactly_once))
        if self.exactly_once:
            self.state_producer = self.producer
            self.producer.init_transactions()
            self.producer.begin_transaction()

    def _new_consumer(self) -> None:
        self.consumer.close()  # leaves the group: the revoke checkpoints what is held
        self.consumer = Consumer(self._consumer_config())
        self.consumer.subscribe(
            [find(topic).full_name for topic in self.inputs],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def profile_figures(self) -> list[Metric]:
        """`batching_profile`: the commit interval in force (ms), labelled with the profile
        (`configured` before any is asked for), for the API to see it applied."""
        profile = self.profile
        labels = {
            "worker": worker_id(),
            "target": "configured" if profile is None else profile.target.value,
            "profile_id": "" if profile is None else profile.profile_id,
        }
        return [
            Metric(
                processor=self.name,
                name="batching_profile",
                kind=MetricKind.GAUGE,
                value=float(self.batching.commit_interval_ms),
                labels=labels,
                timestamp=time.time_ns() // 1000,
            )
        ]

    # -- rebalancing -----------------------------------------------------------------------

    def _stage(self, number: int) -> Stage:
        """A fresh stage for partition `number`, told its place where it asks (`placed`)."""
        stage = self.build()
        placed = getattr(stage, "placed", None)
        if placed is not None:
            placed(number, settings.partitions())
        return stage

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        started = time.monotonic()
        kept = []
        for number in numbers:
            if number not in self.shards:
                shard = self._kept(number)
                if shard is None:
                    shard = Shard(self._stage(number), self._recover(number))
                else:
                    kept.append(number)
                self.shards[number] = shard
        self.kept = {}
        self.telemetry.shards_taken.labels("kept").inc(len(kept))
        self.telemetry.shards_taken.labels("restored").inc(len(numbers) - len(kept))
        positions = []
        for tp in partitions:
            topic = self.topic_of[tp.topic]
            offset = self.shards[tp.partition].position.get(topic, OFFSET_BEGINNING)
            positions.append(TopicPartition(tp.topic, tp.partition, offset))
        consumer.assign(positions)
        log.info(
            "%s: holds partitions %s (%s kept, restored in %.2f s)",
            self.name,
            numbers,
            kept,
            time.monotonic() - started,
        )

    def _kept(self, number: int) -> Shard | None:
        """Shard `number` as this worker checkpointed it when it was revoked, if nobody has
        written its changelog since (no other worker took it up and processed a record): its
        memory is then exactly what a restore would read. Records fetched and not taken are
        dropped; the inputs are sought to where its checkpoint stands."""
        kept = self.kept.get(number)
        if kept is None:
            return None
        shard, end = kept
        if self._changelog_end(number) != end:
            return None
        shard.sequencer = Sequencer()
        shard.waiting_since = None
        return shard

    def _changelog_end(self, number: int) -> int | None:
        tp = TopicPartition(self.changelog.full_name, number)
        try:
            return self.restorer.get_watermark_offsets(tp, timeout=10, cached=False)[1]
        except KafkaException:
            return None

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = sorted({tp.partition for tp in partitions} & set(self.shards))
        try:
            self.commit(numbers)
            checkpointed = True
        except KafkaException as error:  # the next holder restores the last checkpoint
            log.warning("%s: checkpoint on revoke failed: %s", self.name, error)
            checkpointed = False
        self.kept = {}
        for number in numbers:
            shard = self.shards.pop(number)
            end = self._changelog_end(number) if checkpointed and not shard.dirty else None
            if end is not None:  # (a shard still following its journal is not checkpointed)
                self.kept[number] = (shard, end)
        consumer.unassign()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another worker may hold these already: nothing is written for them."""
        self.kept = {}
        for tp in partitions:
            self.shards.pop(tp.partition, None)
        if self.exactly_once:
            self.producer.abort_transaction()
            self.producer.begin_transaction()
        consumer.unassign()

    def _assign_all(self) -> None:
        """A `sees_all` shard: every partition of the inputs, where its checkpoint stood, else
        at the end each has now (so every record published from here on reaches it). No group
        shares them out: one such worker sees everything."""
        shard = Shard(self.build(), self._recover(0))
        watched, positions = [], []
        for topic in self.inputs:
            name = find(topic).full_name
            for number in sorted(
                self.consumer.list_topics(name, timeout=30).topics[name].partitions
            ):
                tp = TopicPartition(name, number)
                source = self._source(topic, number)
                start = shard.position.get(source)
                if start is None:
                    start = high_watermark(self.consumer, tp)
                watched.append((source, tp))
                positions.append(TopicPartition(name, number, start))
        self.consumer.assign(positions)
        self.shards[0], self.watched = shard, watched

    def _recover(self, partition: int) -> Recovered:
        return _waiting_out_the_broker(
            self.name, lambda: read_changelog(self.restorer, self.changelog, partition, self.name)
        )


def _waiting_out_the_broker(name: str, action: Callable[[], T]) -> T:
    """`action` (a step that needs the broker: a start, a partition's restore), tried again
    each second while the broker is away: a worker started, or given partitions, as the
    broker goes down carries on when it returns."""
    while True:
        try:
            return action()
        except KafkaException as error:
            cause = error.args[0]
            if isinstance(cause, KafkaError) and cause.code() in AUTHORIZATION:
                raise _failure(cause, None) from None
            if not isinstance(cause, KafkaError) or not (
                cause.code() in BROKER_AWAY or cause.retriable()
            ):
                raise
            log.warning("%s: the broker is away (%s); trying again", name, cause)
            time.sleep(1)


def changelog_reader(group: str) -> Consumer:
    """A consumer for `read_changelog`: it never joins `group` (assign only)."""
    return Consumer(
        client_config(
            {
                "group.id": group,
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
            }
        )
    )


def read_changelog(
    restorer: Consumer, spec: TopicSpec, partition: int, name: str = "restore"
) -> Recovered:
    """Partition `partition` of the changelog `spec`, read to its end and folded."""
    tp = TopicPartition(spec.full_name, partition, OFFSET_BEGINNING)
    return fold(read_to_end(restorer, tp, name))


def read_to_end(
    reader: Consumer, tp: TopicPartition, name: str, *, keep_assigned: bool = False
) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record of partition `tp` from its offset to its end as it is now;
    the partition stays assigned to `reader` after, where `keep_assigned` asks it to."""
    low, high = watermarks(reader, tp, timeout=30)
    if high <= low:
        if keep_assigned:
            reader.assign([tp])
        return []
    reader.assign([tp])
    records: list[tuple[bytes | None, bytes | None]] = []
    done = False
    try:
        while not done:
            for message in reader.consume(10_000, 0.05):
                error = message.error()
                if error is None:
                    records.append((message.key(), message.value()))
                    done = message.offset() >= high - 1
                elif error.code() == KafkaError._PARTITION_EOF:
                    done = True
                else:
                    log.warning("%s: reading %s [%d]: %s", name, tp.topic, tp.partition, error)
    finally:
        if not keep_assigned:
            reader.unassign()
    return records


def save(
    producer: Producer, topic: str, partition: int, records: list[tuple[bytes, bytes | None]]
) -> None:
    """Produce a checkpoint's records to partition `partition` of the changelog `topic` (its
    full name), then serve delivery reports once. A changelog is neither broadcast nor named
    anew per record, and its records have no callbacks: `send` and a poll per record cost
    about three times the produce itself, once per changed entry (docs/BENCHMARKS.md)."""
    produce = producer.produce
    for key, value in records:
        while True:
            try:
                produce(topic, value, key, partition=partition)
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                producer.poll(0.1)
    producer.poll(0)


def _failure(error: KafkaError, topic: str | None) -> Exception:
    """What the loop raises for a failed request: a refusal names the ACL that is missing."""
    refusal = explain(error, client_config(), topic)
    return KafkaException(error) if refusal is None else KafkaAccessRefused(refusal)


def _age_state() -> None:
    """Tell the cycle collector that what survived to a checkpoint is long-lived.

    A shard's state is tens of thousands of acyclic objects (orders, books, remembered ids),
    freed by reference counting when replaced. The collector's full passes over them freed
    nothing and took about 200 ms each in the desk at 1,000 signals/s: a tenth of its CPU and
    most of its p99 (docs/BENCHMARKS.md). Young objects, cycles among them, are still
    collected before what is left is frozen out of later passes."""
    gc.collect(1)
    gc.freeze()


def run_processor(name: str, build: Callable[[], Stage]) -> None:
    """Run processor `name` until SIGTERM or SIGINT, publishing its heartbeat and figures."""
    telemetry = Telemetry(name)
    processor = Processor(name, build, telemetry)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: processor.stopping.set())
    publisher = Publisher(
        telemetry, group=processor.group, topics=processor.inputs, extra=processor.profile_figures
    ).start()
    try:
        processor.run()
    finally:
        publisher.stop()
