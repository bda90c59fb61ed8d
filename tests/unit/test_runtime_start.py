"""A processor's start-up steps wait out a broker that is away, and fail on anything else."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from fillstream.kafka_access import KafkaAccessRefused
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
