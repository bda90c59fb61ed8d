"""A processor's start-up steps wait out a broker that is away, and fail on anything else."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from fillstream.infra import topic_io
from fillstream.infra.kafka_access import KafkaAccessRefused
from fillstream.streams import runtime


def failing(*errors: KafkaException) -> tuple[list[int], object]:
    """An action that raises `errors` one by one, then succeeds; and the count of its tries."""
    tries: list[int] = []

    def action() -> None:
        tries.append(1)
        if len(tries) <= len(errors):
            raise errors[len(tries) - 1]

    return tries, action


def test_a_broker_away_is_waited_out(monkeypatch):
    monkeypatch.setattr(runtime.time, "sleep", lambda _: None)
    away = KafkaException(KafkaError(KafkaError._TRANSPORT))
    timed_out = KafkaException(KafkaError(KafkaError._TIMED_OUT))
    moved = KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))  # it restarted
    tries, action = failing(away, timed_out, moved)
    runtime._waiting_out_the_broker("risk", action)
    assert len(tries) == 4  # three refusals, then the step done


def test_any_other_error_is_raised_at_once(monkeypatch):
    monkeypatch.setattr(runtime.time, "sleep", lambda _: None)
    refused = KafkaException(KafkaError(KafkaError.INVALID_REPLICATION_FACTOR))
    tries, action = failing(refused)
    with pytest.raises(KafkaException):
        runtime._waiting_out_the_broker("risk", action)
    assert len(tries) == 1


def test_a_missing_acl_is_raised_at_once_with_what_to_do(monkeypatch):
    monkeypatch.setattr(runtime.time, "sleep", lambda _: None)
    monkeypatch.setenv("FILLSTREAM_KAFKA_ROLE", "viewer")
    denied = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    tries, action = failing(denied)
    with pytest.raises(KafkaAccessRefused, match=r"user 'viewer'.*fillstream acls apply"):
        runtime._waiting_out_the_broker("risk", action)
    assert len(tries) == 1


class _Partitions:
    """A reader whose watermark answers raise `errors` one by one, then `ends`."""

    def __init__(self, *errors: KafkaException, ends: tuple[int, int] = (0, 5)) -> None:
        self.errors = list(errors)
        self.ends = ends
        self.asked = 0

    def get_watermark_offsets(self, *_args: object, **_kwargs: object) -> tuple[int, int]:
        self.asked += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.ends


CHANGELOG = TopicPartition("changelog.desk", 0)


def test_a_partition_whose_leader_is_still_settling_is_asked_again(monkeypatch):
    # A processor restoring from a changelog created a moment before (the pipeline's first
    # start) meets its partitions' leaders still being elected.
    monkeypatch.setattr(topic_io.time, "sleep", lambda _: None)
    moved = KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
    reader = _Partitions(moved, moved)
    assert topic_io.watermarks(reader, CHANGELOG) == (0, 5)  # type: ignore[arg-type]
    assert reader.asked == 3
    # The restore of an empty changelog partition reads nothing, once its leader answers.
    empty = _Partitions(moved, ends=(3, 3))
    assert runtime.read_to_end(empty, CHANGELOG, "restore") == []  # type: ignore[arg-type]
    refused = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))
    with pytest.raises(KafkaException):
        topic_io.watermarks(_Partitions(refused), CHANGELOG)  # type: ignore[arg-type]


def test_a_restore_given_partitions_while_the_broker_restarts_waits_for_it(monkeypatch):
    # After the broker's restart the group hands partitions out again; a worker restoring one
    # before the broker answers is not ended by it (a transport failure past the watermark
    # read's own patience is waited out as at start).
    monkeypatch.setattr(topic_io.time, "sleep", lambda _: None)
    monkeypatch.setattr(runtime.time, "sleep", lambda _: None)
    away = KafkaException(KafkaError(KafkaError._TRANSPORT))
    reader = _Partitions(away, away, ends=(3, 3))
    assert topic_io.watermarks(reader, CHANGELOG) == (3, 3)  # type: ignore[arg-type]
    clock = iter(range(0, 1000, 20))  # every read of the clock 20 s later
    monkeypatch.setattr(topic_io.time, "monotonic", lambda: next(clock))
    gone = _Partitions(away, away, away, ends=(3, 3))
    read = runtime._waiting_out_the_broker(
        "desk",
        lambda: runtime.read_to_end(gone, CHANGELOG, "restore"),  # type: ignore[arg-type]
    )
    assert (read, gone.asked) == ([], 4)
