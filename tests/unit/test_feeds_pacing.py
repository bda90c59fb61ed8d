"""Replay pacing with a fake clock: when each event is handed over, and what is slept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.connectors.feeds import MarketEvent
from fillstream.connectors.feeds.pacing import pace
from fillstream.schemas.models import Trade

START = 1_723_161_300_000_000


class FakeClock:
    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def event(offset_s: float) -> MarketEvent:
    trade = Trade(
        symbol="BTC/USDT",
        venue="binance",
        trade_id=str(offset_s),
        price=Decimal(1),
        quantity=Decimal(1),
        timestamp=START + round(offset_s * 1_000_000),
    )
    return MarketEvent.of(trade)


EVENTS = [event(0), event(1), event(1.5), event(1.5), event(3)]


def handed_over(speed: float | None, clock: FakeClock) -> list[tuple[str, float]]:
    """(event id, seconds after start) at which each event was handed over."""
    start = clock.time
    return [
        (e.record.trade_id, clock.time - start)
        for e in pace(EVENTS, speed, sleep=clock.sleep, now=clock.now)
    ]


def test_full_speed_never_sleeps():
    clock = FakeClock()
    assert [t for _, t in handed_over(None, clock)] == [0, 0, 0, 0, 0]
    assert clock.sleeps == []


def test_real_time_hands_each_event_over_at_its_offset():
    clock = FakeClock()
    assert handed_over(1.0, clock) == [
        ("0", 0),
        ("1", 1.0),
        ("1.5", 1.5),
        ("1.5", 1.5),
        ("3", 3.0),
    ]
    assert clock.sleeps == [1.0, 0.5, 1.5]  # no sleep for the tie


def test_speed_multiplies_the_pace():
    clock = FakeClock()
    assert [t for _, t in handed_over(2.0, clock)] == [0, 0.5, 0.75, 0.75, 1.5]
    clock = FakeClock()
    assert [t for _, t in handed_over(0.5, clock)] == [0, 2.0, 3.0, 3.0, 6.0]


def test_a_slow_consumer_catches_up_instead_of_drifting():
    clock = FakeClock()
    stream = pace(EVENTS, 1.0, sleep=clock.sleep, now=clock.now)
    next(stream)
    clock.time += 2.0  # the consumer spends 2 s on the first event
    next(stream)  # due at 1 s: already late, handed over at once
    next(stream)  # due at 1.5 s: still late
    assert clock.sleeps == []
    next(stream)
    next(stream)  # due at 3 s from the start, not 1.5 s after the previous
    assert clock.sleeps == [pytest.approx(1.0)]


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_nonsense_speeds_are_refused(speed):
    clock = FakeClock()
    with pytest.raises(ValueError, match="speed"):
        list(pace(EVENTS, speed, sleep=clock.sleep, now=clock.now))
