"""The view's feed: a background thread reading the followed topics from their beginning.

Read-committed, with a throw-away group that commits nothing, so following never moves a
processor's offsets. A record that cannot be decoded or fails its contract is skipped (the
processors dead-letter such records; the API only reads).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from pydantic import ValidationError

from fillstream.api.view import FOLLOWED, EngineView, apply
from fillstream.infra.topic_io import consume, end_offsets, reader_group, start_offsets, typed_codec
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import find
from fillstream.settings.kafka_client import client_config

__all__ = ["Follower", "snapshot"]

log = logging.getLogger(__name__)


class Follower:
    """Keeps `view` up to date under `lock` until `stop()`; `loaded` is set once every
    partition has been read to the end it had when following began."""

    def __init__(self, view: EngineView, lock: threading.Lock, topics: Iterable[str] = FOLLOWED):
        self.view, self.lock = view, lock
        self.topics = tuple(topics)
        self.loaded = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        consumer = Consumer(
            client_config(
                {
                    "group.id": reader_group("api"),
                    "enable.auto.commit": False,
                    "isolation.level": "read_committed",
                    "enable.partition.eof": True,
                    "fetch.wait.max.ms": 50,
                }
            )
        )
        try:
            self._follow(consumer)
        except Exception:  # the API keeps answering from what it has; the log says why
            log.exception("following the engine's topics stopped")
        finally:
            consumer.close()

    def _follow(self, consumer: Consumer) -> None:
        names = {find(topic).full_name: topic for topic in self.topics}
        codecs = {topic: typed_codec(find(topic)) for topic in self.topics}
        metadata = consumer.list_topics(timeout=10).topics
        partitions = [
            TopicPartition(full, p, OFFSET_BEGINNING)
            for full in names
            for p in metadata[full].partitions
        ]
        consumer.assign(partitions)
        unread = {(tp.topic, tp.partition) for tp in partitions}
        while not self._stop.is_set():
            messages = consumer.consume(500, timeout=0.1)
            with self.lock:
                for message in messages:
                    where = (message.topic(), message.partition())
                    if message.error():
                        if message.error().code() == KafkaError._PARTITION_EOF:
                            unread.discard(where)
                        continue
                    topic = names[message.topic()]
                    try:
                        apply(self.view, topic, codecs[topic].decode(message.value()))
                    except (UndecodableRecord, ValidationError) as error:
                        log.warning("skipped %s@%s: %s", where, message.offset(), error)
            if not unread:
                self.loaded.set()


def snapshot(topics: Iterable[str]) -> EngineView:
    """A view of what `topics` hold now, read once from their beginning (for the CLI)."""
    view = EngineView()
    for topic in topics:
        spec = find(topic)
        for item in consume(spec, start=start_offsets(spec), end=end_offsets(spec)):
            if item.record is not None:
                try:
                    apply(view, topic, item.record)
                except ValidationError as error:
                    log.warning("skipped %s@%s: %s", topic, item.offset, error)
    return view
