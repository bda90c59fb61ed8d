"""The live shell: one stage as a Quix Streams application on the configured Kafka cluster.

The shell is short and boring on purpose: decode each input record with the topic's contract,
hand it to the stage with its event time, encode what the stage emits and produce it keyed as
the catalog says, in the same Kafka transaction as the input's offset (exactly-once). A record
that cannot be decoded, fails its contract, or makes the stage raise goes to `deadletter` with
the reason, and the processor carries on.

Inputs of several topics are concatenated: Quix Streams then aligns them by message time, so
a stage sees market data and orders of one partition in time order. The input topics are
co-partitioned, so each partition number is an independent shard of the work: the worker keeps
one stage per partition it is assigned, and Kafka's consumer group decides who has which.

Each partition's stage memory is durable. At every commit, what changed in each partition's
stage that processed records since the last commit is saved to the partition's Quix Streams
state store (RocksDB, backed by a changelog topic) in the same Kafka transaction as the input
offsets and the outputs (`streams.snapshots`). A worker that takes over a partition, after a
crash or a rebalance, restores the stage as of the last committed offset and goes on from
there: nothing is lost and nothing is emitted twice. Saves are made per commit, not per
record, and cost what changed since the last; nothing while idle.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import ValidationError

with warnings.catch_warnings(record=True):  # its schema-registry extra's OAuth library warns
    from quixstreams import Application, message_context
    from quixstreams.dataframe import StreamingDataFrame
    from quixstreams.models.serializers import Serializer
    from quixstreams.models.serializers.base import SerializationContext
    from quixstreams.state import State

from fillstream import settings
from fillstream.infra.topics import ensure_topics
from fillstream.schemas.models import MODELS, DeadLetter
from fillstream.schemas.serde import Codec, UndecodableRecord, codec_for
from fillstream.schemas.topics import TopicSpec, find, key_of
from fillstream.streams.snapshots import Snapshots, read, restore, write
from fillstream.streams.stages import Emit, Stage, event_time
from fillstream.streams.telemetry import Publisher, Telemetry

__all__ = ["Outgoing", "build_application", "run_processor"]

log = logging.getLogger("fillstream.runtime")


class Outgoing(NamedTuple):
    """An emitted record, dumped once: its catalog topic, Kafka key and encodable value."""

    spec: TopicSpec
    key: bytes | None
    value: dict[str, Any]


class _ContractSerializer(Serializer):
    """Encodes an `Outgoing` value with its topic's contract (single-object or registry)."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec

    def __call__(self, value: Outgoing, ctx: SerializationContext) -> bytes:
        return self._codec.encode(value.value)


def _codec(topic: str) -> Codec:
    spec = find(topic)
    return codec_for(spec.record, spec.full_name)


def _outgoing(emit: Emit) -> Outgoing:
    spec = find(emit.topic)
    value = emit.record.model_dump()
    return Outgoing(spec, key_of(spec, value), value)


def _dead_letter(
    processor: str, raw: bytes | None, key: bytes | None, error: Exception
) -> Outgoing:
    context = message_context()
    record = DeadLetter(
        processor=processor,
        source_topic=context.topic,
        partition=context.partition,
        offset=context.offset,
        key=key,
        value=raw,
        error_type=type(error).__name__,
        error=str(error)[:2000],
        timestamp=time.time_ns() // 1000,
    )
    return _outgoing(Emit("deadletter", record))


class Shards:
    """The stage of each partition this worker holds, restored from and saved to the
    partition's state store around the checkpoints of the frame's Quix application.

    Quix Streams offers state per message key; a stage's memory spans its partition (a clock
    tick moves every order in it), so it is kept under one fixed key per partition. The cache
    is trusted only while the store agrees: each save writes a fresh token, and the first use
    of a partition in each checkpoint compares it with the store's, so a partition that was
    lost and reassigned, or recovered by another worker's changes, is restored again.
    """

    def __init__(self, build: Callable[[], Stage], frame: StreamingDataFrame) -> None:
        self._build = build
        self._frame = frame
        self._stages: dict[int, tuple[Stage, bytes | None]] = {}
        self._snapshots: dict[int, Snapshots] = {}
        self._checked: set[int] = set()
        self._dirty: set[int] = set()
        frame.register_store()
        context = frame.processing_context
        commit = context.commit_checkpoint

        def commit_checkpoint(force: bool = False, revoking: bool = False) -> None:
            if not (force or context.checkpoint.expired()):
                return
            self.save()  # decided once: the commit below must not happen without the save
            commit(force=True, revoking=revoking)
            self._checked.clear()
            if revoking:
                self._stages.clear()
                self._snapshots.clear()

        context.commit_checkpoint = commit_checkpoint  # type: ignore[method-assign]

    def _store(self, partition: int) -> State:
        checkpoint = self._frame.processing_context.checkpoint
        transaction = checkpoint.get_store_transaction(self._frame.stream_id, partition)
        return transaction.as_state(prefix=b"stage")

    def stage(self, partition: int) -> Stage:
        """The partition's stage, as of the last record it processed; marked for saving."""
        self._dirty.add(partition)
        cached = self._stages.get(partition)
        if cached is not None and partition in self._checked:
            return cached[0]
        self._checked.add(partition)
        store = self._store(partition)
        token = store.get_bytes("token")
        if cached is not None and cached[1] == token:
            return cached[0]
        stage = self._build()
        saves = read(store)
        if saves:
            restore(stage, *saves)
        self._stages[partition] = (stage, token)
        self._snapshots[partition] = Snapshots()
        return stage

    def save(self) -> None:
        for partition in self._dirty:
            stage, _ = self._stages[partition]
            token = os.urandom(8)
            store = self._store(partition)
            write(store, self._snapshots[partition], stage)
            store.set_bytes("token", token)
            self._stages[partition] = (stage, token)
        self._dirty.clear()


def _handler(
    name: str,
    inputs: tuple[str, ...],
    shards: Shards,
    codecs: dict[str, Codec],
    telemetry: Telemetry,
) -> Callable[[bytes, bytes | None, int, Any], list[Outgoing]]:
    topic_of = {find(topic).full_name: topic for topic in inputs}
    taken = {topic: telemetry.records_in.labels(topic) for topic in inputs}
    latency = {topic: telemetry.hop_latency.labels(topic) for topic in inputs}
    published: dict[str, Any] = {}  # each output topic's counter, looked up once

    def handle(raw: bytes, key: bytes | None, timestamp_ms: int, _headers: Any) -> list[Outgoing]:
        context = message_context()
        topic = topic_of[context.topic]
        taken[topic].inc()
        outgoing = _handle(topic, raw, key, timestamp_ms, context.partition)
        for out in outgoing:
            sent = published.get(out.spec.name)
            if sent is None:
                sent = published[out.spec.name] = telemetry.records_out.labels(out.spec.name)
            sent.inc()
            if out.spec.name == "orders.rejected":
                telemetry.rejections.labels(out.value["reason_code"]).inc()
            elif out.spec.name == "deadletter":
                telemetry.deadletters.labels(topic).inc()
        latency[topic].observe(max(time.time() - timestamp_ms / 1000, 0.0))
        return outgoing

    def _handle(
        topic: str, raw: bytes, key: bytes | None, timestamp_ms: int, partition: int
    ) -> list[Outgoing]:
        try:
            decoded = codecs[topic].decode(raw)
            # Signals stay raw: the risk stage answers an invalid one with a rejection.
            record = (
                decoded
                if topic == "signals"
                else MODELS[find(topic).record].model_validate(decoded)
            )
        except (UndecodableRecord, ValidationError) as error:
            return [_dead_letter(name, raw, key, error)]
        # Outside the guard below: a store that cannot be read stops the processor, as no
        # record is at fault, and dead-lettering every record would lose them all.
        stage = shards.stage(partition)
        try:
            emits = stage.handle(topic, record, event_time(topic, record, timestamp_ms * 1000))
            return [_outgoing(emit) for emit in emits]
        except Exception as error:  # a stage bug must not stop the pipeline: keep the record
            log.error("%s failed on %s: %s", name, topic, traceback.format_exc())
            return [_dead_letter(name, raw, key, error)]

    return handle


def run_processor(name: str, build: Callable[[], Stage]) -> None:
    """Run processor `name` until stopped, publishing its heartbeat and figures meanwhile."""
    telemetry = Telemetry(name)
    stage = build()
    app = build_application(name, build, telemetry)
    publisher = Publisher(
        telemetry, group=settings.processor_group(name), topics=stage.inputs
    ).start()
    try:
        app.run()
    finally:
        publisher.stop()


def build_application(
    name: str, build: Callable[[], Stage], telemetry: Telemetry | None = None
) -> Application:
    """The Quix Streams application running processor `name`: `build()` makes the stage of
    each partition it is given; `telemetry` counts what passes. Guarantee and commit interval
    come from `settings`."""
    telemetry = telemetry or Telemetry(name)
    stage = build()
    ensure_topics(find(topic) for topic in (*stage.inputs, *stage.outputs, "deadletter"))
    app = Application(
        broker_address=settings.bootstrap_servers(),
        consumer_group=settings.processor_group(name),
        processing_guarantee=settings.processing_guarantee(),  # type: ignore[arg-type]
        auto_offset_reset="earliest",
        commit_interval=settings.commit_interval(),
        consumer_poll_timeout=settings.poll_timeout(),
        producer_extra_config={"linger.ms": settings.linger_ms()},
        # Aligning concatenated inputs, Quix Streams holds a partition's records while another
        # input of it has an unknown high watermark, which only a fetch response brings: the
        # broker's wait for an empty fetch bounds each hop's latency when traffic is light.
        consumer_extra_config={
            "fetch.queue.backoff.ms": 100,  # Quix Streams' own default, kept
            "fetch.wait.max.ms": settings.fetch_wait_ms(),
            "fetch.min.bytes": settings.fetch_min_bytes(),
        },
        # The catalog's topics exist by now (above); Quix creates only its state changelogs.
        auto_create_topics=True,
        state_dir=str(settings.state_dir() / "processors"),
        loglevel=os.environ.get("FILLSTREAM_LOG_LEVEL", "WARNING"),
    )
    codecs = {topic: _codec(topic) for topic in stage.inputs}
    frames = [
        app.dataframe(
            app.topic(find(topic).full_name, value_deserializer="bytes", key_deserializer="bytes")
        )
        for topic in stage.inputs
    ]
    merged = frames[0]
    for frame in frames[1:]:
        merged = merged.concat(frame)
    # Quix Streams names a stream, and so its state store's changelog topic, after every input
    # topic: past Kafka's 255-character limit for the desk's eight under a topic prefix. The
    # processor's name serves as well, and still maps to every input for the store's offsets.
    merged = merged.__dataframe_clone__(stream=merged.stream, stream_id=name)
    produced = {
        topic: app.topic(
            find(topic).full_name,
            value_serializer=_ContractSerializer(
                codec_for(find(topic).record, find(topic).full_name)
            ),
            key_serializer="bytes",
        )
        for topic in (*stage.outputs, "deadletter")
    }
    shards = Shards(build, merged)
    merged = merged.apply(
        _handler(name, stage.inputs, shards, codecs, telemetry), metadata=True, expand=True
    )
    merged.to_topic(
        lambda value, _key, _ts, _headers: produced[value.spec.name],
        key=lambda value: value.key,
    )
    return app
