"""The live shell: one stage as a Quix Streams application on the configured Kafka cluster.

The shell is short and boring on purpose: decode each input record with the topic's contract,
hand it to the stage with its event time, encode what the stage emits and produce it keyed as
the catalog says, in the same Kafka transaction as the input's offset (exactly-once). A record
that cannot be decoded, fails its contract, or makes the stage raise goes to `deadletter` with
the reason, and the processor carries on.

Inputs of several topics are concatenated: Quix Streams then aligns them by message time, so
a stage sees market data and orders of one partition in time order.

Stage state lives in the worker's memory: a restarted worker starts empty (durable state is
the next step; see docs/ARCHITECTURE.md).
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
    from quixstreams.models.serializers import Serializer
    from quixstreams.models.serializers.base import SerializationContext

from fillstream import settings
from fillstream.schemas.models import MODELS, DeadLetter
from fillstream.schemas.serde import Codec, UndecodableRecord, codec_for
from fillstream.schemas.topics import TopicSpec, find, key_of
from fillstream.streams.stages import Emit, Stage, event_time

__all__ = ["Outgoing", "build_application"]

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


def _handler(
    name: str, stage: Stage, codecs: dict[str, Codec]
) -> Callable[[bytes, bytes | None, int, Any], list[Outgoing]]:
    topic_of = {find(topic).full_name: topic for topic in stage.inputs}

    def handle(raw: bytes, key: bytes | None, timestamp_ms: int, _headers: Any) -> list[Outgoing]:
        topic = topic_of[message_context().topic]
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
        try:
            emits = stage.handle(topic, record, event_time(topic, record, timestamp_ms * 1000))
            return [_outgoing(emit) for emit in emits]
        except Exception as error:  # a stage bug must not stop the pipeline: keep the record
            log.error("%s failed on %s: %s", name, topic, traceback.format_exc())
            return [_dead_letter(name, raw, key, error)]

    return handle


def build_application(
    name: str,
    stage: Stage,
    *,
    guarantee: str = "exactly-once",
    commit_interval: float = 0.05,
) -> Application:
    """The Quix Streams application running `stage` as processor `name`."""
    app = Application(
        broker_address=settings.bootstrap_servers(),
        consumer_group=f"{settings.topic_prefix()}fillstream-{name}",
        processing_guarantee=guarantee,  # type: ignore[arg-type]
        auto_offset_reset="earliest",
        commit_interval=commit_interval,
        auto_create_topics=False,
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
    merged = merged.apply(_handler(name, stage, codecs), metadata=True, expand=True)
    merged.to_topic(
        lambda value, _key, _ts, _headers: produced[value.spec.name],
        key=lambda value: value.key,
    )
    return app
