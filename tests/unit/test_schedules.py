"""Scheduled and recurring executions: due times worked out by hand, ids and times exact, the
missed-occurrence policies, cancels; and the scheduler stage on ticks, across a restore."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from fillstream.schemas.models import (
    ClockTick,
    MissedPolicy,
    Schedule,
    ScheduleAction,
    ScheduleStatus,
    SignalTemplate,
)
from fillstream.schemas.serde import SingleObjectCodec
from fillstream.streams.memory import Memory
from fillstream.streams.schedules import LATE_AFTER_US, Scheduled, advance, cancel, due_at
from fillstream.streams.stages import scheduler as scheduler_stage
from fillstream.streams.stages.scheduler import SchedulerStage

S = 1_000_000  # µs
T0 = 1_790_000_000 * S  # 2026-09-21T14:13:20Z
TEMPLATE = SignalTemplate(
    strategy_id="dca",
    account_id="acct-1",
    symbol="BTC/USDT",
    side="buy",
    quantity="0.010",
    order_type="market",
)


def schedule(schedule_id: str = "dca", **terms: object) -> Schedule:
    fields = {"signal": TEMPLATE, "start_at": T0, "created_at": T0 - 60 * S, **terms}
    return Schedule(schedule_id=schedule_id, **fields)  # type: ignore[arg-type]


def ids(signals: list) -> list[tuple[str, int]]:
    return [(signal.signal_id, signal.created_at) for signal in signals]


def test_once_falls_due_at_its_time_and_never_again():
    once = Scheduled(schedule())
    assert [due_at(once.schedule, n) for n in (1, 2)] == [T0, None]
    assert advance(once, T0 - 1) == (once, [])
    done, signals = advance(once, T0 + 50_000)
    assert ids(signals) == [("dca:1", T0)]  # created_at is the due time, not the tick's
    assert (done.next_occurrence, done.published) == (2, 1)
    assert advance(done, T0 + 3600 * S) == (done, [])


def test_every_two_seconds_from_a_start_to_an_end():
    every = Scheduled(schedule(interval_us=2 * S, end_at=T0 + 7 * S))
    # 0, 2, 4, 6 s; 8 s is past the end (7 s)
    assert [due_at(every.schedule, n) for n in range(1, 6)] == [
        T0,
        T0 + 2 * S,
        T0 + 4 * S,
        T0 + 6 * S,
        None,
    ]
    published = []
    for tick in range(0, 10 * S, S // 10):  # a tick every 100 ms for 10 s
        every, signals = advance(every, T0 + tick)
        published += signals
    assert ids(published) == [
        ("dca:1", T0),
        ("dca:2", T0 + 2 * S),
        ("dca:3", T0 + 4 * S),
        ("dca:4", T0 + 6 * S),
    ]
    assert published[2].model_dump() == TEMPLATE.signal("dca:3", T0 + 4 * S).model_dump()
    assert published[0].quantity == Decimal("0.010")


def test_an_end_on_an_occurrence_includes_it():
    assert due_at(schedule(interval_us=2 * S, end_at=T0 + 6 * S), 4) == T0 + 6 * S


def test_at_most_k_times():
    capped = Scheduled(schedule(interval_us=2 * S, max_occurrences=3))
    capped, signals = advance(capped, T0 + 4 * S)  # 0, 2, 4 s in one tick, each on time
    assert ids(signals) == [("dca:1", T0), ("dca:2", T0 + 2 * S), ("dca:3", T0 + 4 * S)]
    assert advance(capped, T0 + 100 * S) == (capped, [])
    assert due_at(capped.schedule, 4) is None


def test_after_a_gap_catch_up_publishes_each_missed_occurrence_late():
    hourly = Scheduled(schedule(interval_us=3600 * S, missed=MissedPolicy.CATCH_UP))
    hourly, _ = advance(hourly, T0)
    # The clock stood still from T0 to 3 h 10 min: occurrences at 1, 2 and 3 h were missed.
    hourly, signals = advance(hourly, T0 + 3 * 3600 * S + 600 * S)
    assert ids(signals) == [
        ("dca:2", T0 + 3600 * S),
        ("dca:3", T0 + 7200 * S),
        ("dca:4", T0 + 10800 * S),
    ]
    assert (hourly.published, hourly.skipped, hourly.next_occurrence) == (4, 0, 5)


def test_after_a_gap_skip_goes_on_with_the_next_occurrence_and_counts_the_missed():
    hourly = Scheduled(schedule(interval_us=3600 * S))  # skip is the default
    hourly, _ = advance(hourly, T0)
    hourly, signals = advance(hourly, T0 + 3 * 3600 * S + 600 * S)
    assert signals == []
    assert (hourly.published, hourly.skipped, hourly.next_occurrence) == (1, 3, 5)
    hourly, signals = advance(hourly, T0 + 4 * 3600 * S)
    assert ids(signals) == [("dca:5", T0 + 4 * 3600 * S)]


def test_skip_publishes_an_occurrence_found_within_the_lateness_allowed():
    late = Scheduled(schedule(interval_us=3600 * S))
    assert ids(advance(late, T0 + LATE_AFTER_US)[1]) == [("dca:1", T0)]
    assert advance(late, T0 + LATE_AFTER_US + 1)[0].skipped == 1


def test_cancel_stops_further_occurrences():
    every = Scheduled(schedule(interval_us=2 * S, max_occurrences=5))
    every, signals = advance(every, T0 + 2 * S)
    assert len(signals) == 2
    cancelled = cancel(every, "strategy retired")
    assert advance(cancelled, T0 + 60 * S) == (cancelled, [])
    assert (cancelled.published, cancelled.reason) == (2, "strategy retired")


def test_the_edges_refuse_what_cannot_be_scheduled():
    with pytest.raises(ValidationError, match="GTD"):
        SignalTemplate(**{**dict(TEMPLATE), "time_in_force": "GTD"})
    with pytest.raises(ValidationError, match="needs a price"):
        SignalTemplate(**{**dict(TEMPLATE), "order_type": "limit"})
    with pytest.raises(ValidationError, match="before start_at"):
        schedule(interval_us=S, end_at=T0 - 1)
    with pytest.raises(ValidationError, match="needs a signal"):
        Schedule(schedule_id="x", created_at=T0)
    with pytest.raises(ValidationError, match="schedule_id"):
        schedule("a:b")  # `:` separates the occurrence in signal ids


# -- the stage --------------------------------------------------------------------------------


def tick(at: int, partition: int = 0) -> ClockTick:
    return ClockTick(partition=partition, sequence=0, timestamp=at)


def run(stage: SchedulerStage, *inputs: tuple[str, object]) -> list:
    emits = []
    for topic, record in inputs:
        at = record.timestamp if topic == "clock" else record.created_at  # type: ignore[attr-defined]
        emits += stage.handle(topic, record, at)
    return emits


def test_the_stage_publishes_on_ticks_and_says_where_each_schedule_stands():
    stage = SchedulerStage()
    created = run(stage, ("schedules", schedule(interval_us=2 * S, max_occurrences=2)))
    assert [(e.topic, e.record.status, e.record.next_due_at) for e in created] == [
        ("schedules.state", ScheduleStatus.ACTIVE, T0)
    ]
    emits = run(stage, ("clock", tick(T0 + S // 10)), ("clock", tick(T0 + 2 * S)))
    assert [(e.topic, getattr(e.record, "signal_id", None)) for e in emits] == [
        ("signals", "dca:1"),
        ("schedules.state", None),
        ("signals", "dca:2"),
        ("schedules.state", None),
    ]
    final = emits[-1].record
    assert (final.status, final.published, final.next_due_at) == (ScheduleStatus.COMPLETED, 2, None)
    codec = SingleObjectCodec("ScheduleState")
    assert codec.decode(codec.encode(final.model_dump()))["published"] == 2


def test_the_stage_ignores_ticks_older_than_its_clock_and_repeated_creates():
    stage = SchedulerStage()
    run(stage, ("schedules", schedule(interval_us=2 * S)), ("clock", tick(T0 + 2 * S)))
    assert run(stage, ("clock", tick(T0 + S))) == []
    assert stage.clock == T0 + 2 * S  # the older tick did not move the clock back
    assert run(stage, ("clock", tick(T0 + 2 * S))) == []  # nor does a repeated one publish
    assert run(stage, ("schedules", schedule(interval_us=S))) == []  # an id is created once
    assert stage.held["dca"].schedule.interval_us == 2 * S


def test_a_cancel_record_stops_the_schedule():
    stage = SchedulerStage()
    run(stage, ("schedules", schedule(interval_us=2 * S)), ("clock", tick(T0)))
    stop = Schedule(
        schedule_id="dca", action=ScheduleAction.CANCEL, reason="done", created_at=T0 + S
    )
    (state,) = run(stage, ("schedules", stop))
    assert (state.record.status, state.record.published, state.record.reason) == (
        ScheduleStatus.CANCELLED,
        1,
        "done",
    )
    assert run(stage, ("clock", tick(T0 + 10 * S))) == []
    assert run(stage, ("schedules", stop.model_copy(update={"schedule_id": "unknown"}))) == []


def test_a_restored_stage_publishes_what_the_original_would_have():
    """Saved as keyed entries and restored (a restart), then fed the same ticks: the same
    records, field for field, as a stage that never stopped."""
    inputs = [
        ("schedules", schedule(interval_us=2 * S, max_occurrences=5)),
        ("schedules", schedule("once", start_at=T0 + 3 * S)),
        *[("clock", tick(T0 + n * S // 2)) for n in range(0, 6)],
    ]
    later = [("clock", tick(T0 + n * S // 2)) for n in range(6, 24)]
    uninterrupted = SchedulerStage()
    run(uninterrupted, *inputs)
    expected = run(uninterrupted, *later)

    original = SchedulerStage()
    run(original, *inputs)
    entries, _ = Memory(original).changes()
    restored = SchedulerStage()
    Memory(restored).restore(entries)
    assert [e.record for e in run(restored, *later)] == [e.record for e in expected]
    assert [e.record.signal_id for e in expected if e.topic == "signals"] == [
        "once:1",
        "dca:3",
        "dca:4",
        "dca:5",
    ]


def test_a_tick_looks_only_at_the_schedules_due_by_it(monkeypatch):
    # 200 one-offs done at T0, one daily schedule: a tick a second later has one schedule due
    # (the daily one's second occurrence is a day away, so none), the next day's tick one.
    stage = SchedulerStage()
    run(stage, *[("schedules", schedule(f"once-{n:03d}")) for n in range(200)])
    run(stage, ("schedules", schedule("daily", interval_us=86_400 * S)), ("clock", tick(T0)))
    looked: list[str] = []
    real = scheduler_stage.schedules.advance

    def counting(scheduled: Scheduled, now_us: int) -> tuple[Scheduled, list]:
        looked.append(scheduled.schedule.schedule_id)
        return real(scheduled, now_us)

    monkeypatch.setattr(scheduler_stage.schedules, "advance", counting)
    assert run(stage, ("clock", tick(T0 + S))) == []
    emits = run(stage, ("clock", tick(T0 + 86_400 * S)))
    assert looked == ["daily"]
    assert [e.record.signal_id for e in emits if e.topic == "signals"] == ["daily:2"]


def test_an_occurrence_of_a_bracket_template_is_a_bracket():
    bracket = TEMPLATE.model_copy(
        update={"stop_loss": Decimal(60000), "take_profit": Decimal(64000)}
    )
    _, [occurrence] = advance(Scheduled(schedule("brk", signal=bracket)), T0)
    assert (occurrence.signal_id, occurrence.created_at) == ("brk:1", T0)
    assert (occurrence.stop_loss, occurrence.take_profit) == (60000, 64000)
