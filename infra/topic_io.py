"""Typed records on catalog topics: encode, key and publish; consume and decode.

The thin I/O shell under the CLI's `produce` and `tail`, the demo and the integration tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fillstream.schemas.serde import (
    Codec,
    RecordCodec,
    UndecodableRecord,
    codec_for,
    record_codec_for,
)
from fillstream.schemas.topics import TopicSpec, broadcast, key_of
from fillstream.settings.kafka_client import client_config

__all__ = [
    "BROKER_AWAY",
    "LEADER_MOVES",
    "TAIL_GROUP",
    "Received",
    "at_ends",
    "codec",
    "consume",
    "consumer_lag",
    "end_offsets",
    "high_watermark",
    "make_producer",
    "partitions_of",
    "publish",
    "reader_group",
    "send",
    "start_offsets",
    "typed_codec",
]


def codec(spec: TopicSpec) -> Codec:
    return codec_for(spec.record, spec.full_name)


def typed_codec(spec: TopicSpec) -> RecordCodec:
    """The topic's records as their models, not validated: for readers inside the pipeline,
    whose input is the engine's own output (docs/CONTRACTS.md, "Validation")."""
    return record_codec_for(spec.record, spec.full_name)


def make_producer(**overrides: Any) -> Producer:
    """An idempotent producer on the configured cluster (acks=all, no duplicates on retry).

    Keys are hashed with murmur2, as the Java clients and the processors' producers do
    (librdkafka's own default is CRC32): a symbol must land in the same partition whoever
    writes it, or a venue would see an order in one partition and its market in another."""
    return Producer(
        client_config(
            {
                "enable.idempotence": True,
                "linger.ms": 5,
                "partitioner": "murmur2_random",
                **overrides,
            }
        )
    )


_PARTITIONS: dict[str, list[int]] = {}


def send(
    producer: Producer,
    spec: TopicSpec,
    value: bytes,
    key: bytes | None,
    **produce: Any,
) -> None:
    """Produce one encoded record where the catalog puts it: its key's partition, or every
    partition of a broadcast topic. Waits while the local queue is full."""
    if broadcast(spec, key):
        for partition in partitions_of(producer, spec):
            _produce(producer, spec.full_name, value, key, partition=partition, **produce)
        return
    _produce(producer, spec.full_name, value, key, **produce)


def partitions_of(producer: Producer, spec: TopicSpec) -> list[int]:
    """The partitions of `spec`'s topic, as the cluster first told this process (asked once:
    a feed that goes on while the broker is away must not need it)."""
    partitions = _PARTITIONS.get(spec.full_name)
    if partitions is None:
        metadata = producer.list_topics(spec.full_name, timeout=10).topics[spec.full_name]
        partitions = _PARTITIONS[spec.full_name] = sorted(metadata.partitions)
    return partitions


def _produce(producer: Producer, topic: str, value: bytes, key: bytes | None, **kw: Any) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=key, **kw)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.1)


def publish(
    spec: TopicSpec, records: Iterable[Mapping[str, Any]], producer: Producer | None = None
) -> int:
    """Encode, key and send records; return how many (a broadcast record counts once).

    Raises KafkaException if any record was not delivered, after every other one was tried.
    """
    producer = producer or make_producer()
    encoder = codec(spec)
    failures: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    sent = 0
    for record in records:
        send(producer, spec, encoder.encode(record), key_of(spec, record), on_delivery=on_delivery)
        producer.poll(0)
        sent += 1
    remaining = producer.flush(30)
    if remaining:
        raise KafkaException(f"{remaining} records to {spec.full_name} not delivered within 30 s")
    if failures:
        raise KafkaException(f"{len(failures)} of {sent} records not delivered: {failures[0]}")
    return sent


# The prefix of every throw-away consumer group (their ACLs grant readers this one prefix).
TAIL_GROUP = "fillstream-tail-"


def reader_group(purpose: str) -> str:
    """A group id of its own for a consumer that only assigns partitions (a tail, a watcher, a
    count): it never joins or commits, but the client still looks its coordinator up, which a
    broker enforcing ACLs refuses for a group its user may not read."""
    return f"{TAIL_GROUP}{purpose}-{uuid.uuid4().hex[:12]}"


def _consumer(group_id: str | None, from_beginning: bool, eof: bool = False) -> Consumer:
    return Consumer(
        client_config(
            {
                "group.id": group_id or reader_group("tail"),
                "enable.auto.commit": group_id is not None,
                "auto.offset.reset": "earliest" if from_beginning else "latest",
                "isolation.level": "read_committed",
                "enable.partition.eof": eof,
            }
        )
    )


LEADER_MOVES = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}
# What a broker that is away (or restarting) answers, and a partition whose leader moves.
BROKER_AWAY = frozenset(
    {KafkaError._TRANSPORT, KafkaError._TIMED_OUT, KafkaError._ALL_BROKERS_DOWN, *LEADER_MOVES}
)


def watermarks(
    consumer: Consumer, partition: TopicPartition, timeout: float = 15
) -> tuple[int, int]:
    """A partition's low and high watermarks, waiting out leader moves (a new topic settles in
    about a second, and a processor started beside its creation asks meanwhile) and a broker
    that is away, up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10, cached=False)
            return int(low), int(high)
        except KafkaException as error:
            settling = error.args[0].retriable() or error.args[0].code() in BROKER_AWAY
            if not settling or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def high_watermark(consumer: Consumer, partition: TopicPartition, timeout: float = 15) -> int:
    return watermarks(consumer, partition, timeout)[1]


def consumer_lag(committed: int, end: int) -> int:
    """How many records before offset `end` a consumer group's `committed` offset leaves
    unread: all of them while the group has committed nothing there (a negative offset)."""
    return max(0, end - max(committed, 0))


def end_offsets(spec: TopicSpec) -> dict[int, int]:
    """The next offset to be written in each partition (the high watermark)."""
    consumer = _consumer(None, from_beginning=False)
    try:
        topic = consumer.list_topics(spec.full_name, timeout=10).topics[spec.full_name]
        return {
            partition: high_watermark(consumer, TopicPartition(spec.full_name, partition))
            for partition in topic.partitions
        }
    finally:
        consumer.close()


def at_ends(specs: Iterable[TopicSpec]) -> Consumer:
    """A consumer assigned every partition of these topics at its end as it is now, read
    committed and in no group (it never joins or commits): every record published from here on
    reaches it, and it moves no processor's offsets. The caller closes it."""
    consumer = _consumer(None, from_beginning=False)
    partitions = []
    for spec in specs:
        topic = consumer.list_topics(spec.full_name, timeout=10).topics[spec.full_name]
        for number in sorted(topic.partitions):
            partition = TopicPartition(spec.full_name, number)
            partition.offset = high_watermark(consumer, partition)
            partitions.append(partition)
    consumer.assign(partitions)
    return consumer


def start_offsets(spec: TopicSpec, since_us: int | None = None) -> dict[int, int]:
    """Each partition's oldest offset still held, or its first record stamped at or after
    `since_us` (µs UTC; the broker's time index, so record timestamps, not event times)."""
    consumer = _consumer(None, from_beginning=True)
    try:
        topic = consumer.list_topics(spec.full_name, timeout=10).topics[spec.full_name]
        partitions = [TopicPartition(spec.full_name, p) for p in topic.partitions]
        high_watermark(consumer, partitions[0])  # waits out a new topic's leader election
        if since_us is None:
            return {
                tp.partition: int(consumer.get_watermark_offsets(tp, timeout=10)[0])
                for tp in partitions
            }
        wanted = [TopicPartition(tp.topic, tp.partition, since_us // 1000) for tp in partitions]
        found = consumer.offsets_for_times(wanted, timeout=10)
        return {  # -1: nothing that recent; start at the end
            tp.partition: tp.offset if tp.offset >= 0 else high_watermark(consumer, tp)
            for tp in found
        }
    finally:
        consumer.close()


@dataclass(frozen=True)
class Received:
    """One consumed record: decoded, or the decoding error and the raw bytes."""

    partition: int
    offset: int
    key: bytes | None
    record: dict[str, Any] | None
    error: UndecodableRecord | None
    raw: bytes | None


def consume(
    spec: TopicSpec,
    *,
    from_beginning: bool = False,
    max_records: int | None = None,
    idle_timeout: float | None = None,
    group_id: str | None = None,
    start: Mapping[int, int] | None = None,
    end: Mapping[int, int] | None = None,
) -> Iterator[Received]:
    """Follow a topic, decoding each value; stop after max_records or idle_timeout seconds quiet.

    Without a group id a throw-away group is used and nothing is committed, so looking at a
    topic never moves a processor's offsets. `start` reads from given offsets per partition.
    `end` (e.g. `end_offsets(spec)`: what the topic holds now) reads each partition up to that
    offset and stops when all have got there. A partition counts as there at its last record
    before `end`, or when the consumer reports reaching its end: a transaction's closing
    marker takes an offset no record is delivered at, and compaction leaves gaps.
    """
    consumer = _consumer(group_id, from_beginning, eof=end is not None)
    decoder = codec(spec)
    if start is None:
        consumer.subscribe([spec.full_name])
    else:
        consumer.assign([TopicPartition(spec.full_name, p, offset) for p, offset in start.items()])
    first = start or {}
    # The last offset still to read in each partition that has one.
    last_wanted = None if end is None else {p: o - 1 for p, o in end.items() if o > first.get(p, 0)}
    count = 0
    quiet = 0.0
    poll_interval = 0.2
    try:
        while (max_records is None or count < max_records) and last_wanted != {}:
            message = consumer.poll(poll_interval)
            if message is None:
                quiet += poll_interval
                if idle_timeout is not None and quiet >= idle_timeout:
                    return
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    if last_wanted is not None:
                        last_wanted.pop(message.partition(), None)
                    continue
                raise KafkaException(message.error())
            if last_wanted is not None:
                last = last_wanted.get(message.partition(), -1)
                if message.offset() >= last:
                    last_wanted.pop(message.partition(), None)
                if message.offset() > last:
                    continue
            quiet = 0.0
            raw = message.value()
            try:
                record, error = decoder.decode(raw), None
            except UndecodableRecord as undecodable:
                record, error = None, undecodable
            count += 1
            yield Received(message.partition(), message.offset(), message.key(), record, error, raw)
    finally:
        consumer.close()
