"""A checkpoint's records reach the changelog's partition in order, waiting out a full queue."""

from __future__ import annotations

from fillstream.streams import runtime
from fillstream.streams.changelog import checkpoint_records, fold


class _Producer:
    """Queues records; full (BufferError) on the given produce calls until polled."""

    def __init__(self, full_at: set[int]) -> None:
        self.full_at, self.calls, self.polls = full_at, 0, []
        self.produced: list[tuple[str, bytes | None, bytes, int]] = []

    def produce(self, topic: str, value: bytes | None, key: bytes, *, partition: int) -> None:
        self.calls += 1
        if self.calls in self.full_at:
            raise BufferError("Local: Queue full")
        self.produced.append((topic, value, key, partition))

    def poll(self, timeout: float) -> int:
        self.polls.append(timeout)
        return 0


def test_a_checkpoint_is_produced_whole_in_order_to_its_partition_through_a_full_queue():
    records = checkpoint_records(3, {"fills": 9}, {b"a": b"1", b"b": b"2"}, [b"c"])
    producer = _Producer(full_at={2})
    runtime.save(producer, "prod.changelog.risk", 1, records)  # type: ignore[arg-type]
    assert [(key, value) for _, value, key, _ in producer.produced] == records
    assert {(topic, partition) for topic, _, _, partition in producer.produced} == {
        ("prod.changelog.risk", 1)
    }
    assert producer.polls == [0.1, 0]  # drained once when full, served once at the end
    assert fold([(key, value) for _, value, key, _ in producer.produced]).entries == {
        b"a": b"1",
        b"b": b"2",
    }
