"""Records a pipeline run writes over a window, per topic: the traffic each signal costs.

Every record a processor writes is produced, stored and read again downstream, so records per
signal is the pipeline's traffic cost. A topic's end offsets, taken before and after the
window, say how far each partition advanced. Under exactly-once that includes a commit marker
per partition for each transaction that wrote to it: a control record that takes an offset
and holds no data. `count_data` counts those out by reading the window back read-uncommitted
(a consumer is never handed a control record), after the window, so the reading costs the
window nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from fillstream.infra.topic_io import reader_group
from fillstream.infra.topics import admin_client
from fillstream.settings.kafka_client import client_config

__all__ = [
    "Offsets",
    "RecordsMeter",
    "RecordsPerSignal",
    "advance",
    "by_topic",
    "count_data",
    "end_offsets",
    "records_per_signal",
    "run_topics",
]

Offsets = dict[tuple[str, int], int]  # (topic, partition) -> offset


def run_topics(admin: AdminClient, prefix: str) -> list[str]:
    """Every topic of a run: the catalog's, and the processors' state changelogs."""
    return sorted(name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix))


def end_offsets(admin: AdminClient, topics: Iterable[str]) -> Offsets:
    """Each partition's high watermark (the next offset to be written), in one request."""
    metadata = admin.list_topics(timeout=10).topics
    wanted = {
        TopicPartition(name, partition): OffsetSpec.latest()
        for name in topics
        if name in metadata
        for partition in metadata[name].partitions
    }
    if not wanted:
        return {}
    futures = admin.list_offsets(wanted, request_timeout=10)
    return {(tp.topic, tp.partition): future.result().offset for tp, future in futures.items()}


def advance(before: Offsets, after: Offsets) -> dict[tuple[str, int], tuple[int, int]]:
    """The offsets written between two snapshots, as [start, end) per partition that moved; a
    partition missing from `before` was created meanwhile, from offset 0."""
    ranges = {}
    for where, end in after.items():
        start = before.get(where, 0)
        if end > start:
            ranges[where] = (start, end)
    return ranges


def by_topic(counts: Mapping[tuple[str, int], int], prefix: str) -> dict[str, int]:
    """Per-partition counts summed per topic, named without the run's prefix."""
    totals: Counter[str] = Counter()
    for (topic, _partition), count in counts.items():
        totals[topic.replace(prefix, "", 1)] += count
    return dict(sorted(totals.items()))


def count_data(
    ranges: Mapping[tuple[str, int], tuple[int, int]], timeout: float = 60.0
) -> dict[tuple[str, int], int] | None:
    """The data records (committed, open or aborted; markers excluded) in each range; None if
    the reading does not finish within `timeout` or meets an error."""
    remaining = {where: end for where, (start, end) in ranges.items() if end > start}
    counts = dict.fromkeys(remaining, 0)
    if not remaining:
        return counts
    consumer = Consumer(
        client_config(
            {
                "group.id": reader_group("count"),  # never joined or committed
                "enable.auto.commit": False,
                "isolation.level": "read_uncommitted",
                # a range ending in markers ends at the partition's end
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )
    )
    try:
        consumer.assign([TopicPartition(topic, p, ranges[topic, p][0]) for topic, p in remaining])
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                return None
            for message in consumer.consume(10_000, 0.5):
                where = (message.topic(), message.partition())
                end = remaining.get(where)
                if end is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        return None
                    del remaining[where]  # the end now is at or past the window's end
                    continue
                if message.offset() < end:
                    counts[where] += 1
                if message.offset() >= end - 1:
                    del remaining[where]
        return counts
    finally:
        consumer.close()


@dataclass(frozen=True)
class RecordsPerSignal:
    """Records written to the run's topics per acknowledged signal: `total` and `by_topic`
    are data records, transaction markers included only if `includes_transaction_markers`
    (they could not be counted out); `offsets` is the end offsets' advance, markers and all."""

    total: float
    by_topic: dict[str, float]
    includes_transaction_markers: bool
    offsets: float


def records_per_signal(
    offsets: Mapping[str, int], data: Mapping[str, int] | None, signals: int
) -> RecordsPerSignal | None:
    """Per-topic counts over the signals; `data` None means the markers are still in. None
    when no signal was acknowledged."""
    if signals <= 0:
        return None
    counted = offsets if data is None else data
    return RecordsPerSignal(
        total=sum(counted.values()) / signals,
        by_topic={topic: count / signals for topic, count in counted.items()},
        includes_transaction_markers=data is None,
        offsets=sum(offsets.values()) / signals,
    )


class RecordsMeter:
    """End offsets of a run's topics at a window's start and end, and the records between."""

    def __init__(self, prefix: str, transactional: bool) -> None:
        """`transactional`: the processors write in transactions (exactly-once), so the end
        offsets hold commit markers to count out."""
        self.prefix, self.transactional = prefix, transactional
        self.admin = admin_client()
        self._topics: list[str] = []
        self._before: Offsets = {}

    def start(self) -> None:
        self._topics = run_topics(self.admin, self.prefix)
        self._before = end_offsets(self.admin, self._topics)

    def stop(self) -> dict[tuple[str, int], tuple[int, int]]:
        """The offsets written since `start`, per partition."""
        return advance(self._before, end_offsets(self.admin, self._topics))

    def per_signal(
        self, ranges: Mapping[tuple[str, int], tuple[int, int]], signals: int
    ) -> RecordsPerSignal | None:
        """Records per signal in the ranges `stop` returned; reads them back to count the
        markers out if there can be any."""
        if signals <= 0:
            return None
        offsets = by_topic(
            {where: end - start for where, (start, end) in ranges.items()}, self.prefix
        )
        if not self.transactional:
            return records_per_signal(offsets, offsets, signals)
        counted = count_data(ranges)
        data = None if counted is None else by_topic(counted, self.prefix)
        return records_per_signal(offsets, data, signals)
