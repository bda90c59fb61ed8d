"""Scheduled and recurring executions: when each occurrence falls due, and what it publishes.

A schedule holds a signal template and its timing: once at `start_at`; or every
`interval_us` from `start_at`, up to `end_at` (inclusive) and at most `max_occurrences` times.
Occurrence n (1-based) falls due at `start_at + (n - 1) * interval_us` and publishes the
template as a signal with id `<schedule_id>:<n>` and `created_at` its due time, never the time
it was noticed: an occurrence published again (a restarted scheduler processing a tick again)
is the very same record, which the pipeline recognises by its id.

Time is what the caller says it is (the clock ticks' event time), never read here. An
occurrence found due more than `LATE_AFTER_US` after its due time fell due while the clock stood
still (no ticks: the system was down); the schedule's `missed` policy publishes it late
(`catch_up`) or counts it as skipped (`skip`). A scheduler that restarts while the ticker runs
reads the ticks it missed at their own times, so nothing is late for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fillstream.schemas.models import (
    MissedPolicy,
    Schedule,
    ScheduleState,
    ScheduleStatus,
    Signal,
)

__all__ = [
    "LATE_AFTER_US",
    "Scheduled",
    "advance",
    "cancel",
    "due_at",
    "state_of",
]

# Well above the ticker's period (100 ms) and a busy scheduler's lag behind it.
LATE_AFTER_US = 5_000_000


@dataclass(frozen=True)
class Scheduled:
    """A schedule and how far it has gone."""

    schedule: Schedule
    next_occurrence: int = 1
    published: int = 0
    skipped: int = 0
    cancelled: bool = False
    reason: str | None = None


def due_at(schedule: Schedule, occurrence: int) -> int | None:
    """When occurrence `occurrence` (1-based) falls due; None when the schedule has no such
    occurrence (past its end, its count, or a one-off's first)."""
    assert schedule.start_at is not None  # a created schedule has one (the contract's check)
    if schedule.max_occurrences is not None and occurrence > schedule.max_occurrences:
        return None
    if schedule.interval_us is None:
        return schedule.start_at if occurrence == 1 else None
    at = schedule.start_at + (occurrence - 1) * schedule.interval_us
    return None if schedule.end_at is not None and at > schedule.end_at else at


def advance(scheduled: Scheduled, now_us: int) -> tuple[Scheduled, list[Signal]]:
    """The schedule with every occurrence due at `now_us` done, and the signals to publish."""
    if scheduled.cancelled:
        return scheduled, []
    schedule = scheduled.schedule
    template = schedule.signal
    assert template is not None
    signals: list[Signal] = []
    occurrence, skipped = scheduled.next_occurrence, scheduled.skipped
    while (at := due_at(schedule, occurrence)) is not None and at <= now_us:
        if schedule.missed is MissedPolicy.SKIP and now_us - at > LATE_AFTER_US:
            skipped += 1
        else:
            signals.append(template.signal(f"{schedule.schedule_id}:{occurrence}", at))
        occurrence += 1
    if occurrence == scheduled.next_occurrence:
        return scheduled, []
    advanced = replace(
        scheduled,
        next_occurrence=occurrence,
        published=scheduled.published + len(signals),
        skipped=skipped,
    )
    return advanced, signals


def cancel(scheduled: Scheduled, reason: str | None) -> Scheduled:
    """No occurrence after this; what was published stays published."""
    return scheduled if scheduled.cancelled else replace(scheduled, cancelled=True, reason=reason)


def state_of(scheduled: Scheduled, now_us: int) -> ScheduleState:
    """Where the schedule stands, for `schedules.state`."""
    due = None if scheduled.cancelled else due_at(scheduled.schedule, scheduled.next_occurrence)
    if scheduled.cancelled:
        status = ScheduleStatus.CANCELLED
    elif due is None:
        status = ScheduleStatus.COMPLETED
    else:
        status = ScheduleStatus.ACTIVE
    return ScheduleState(
        schedule_id=scheduled.schedule.schedule_id,
        status=status,
        schedule=scheduled.schedule,
        published=scheduled.published,
        skipped=scheduled.skipped,
        next_occurrence=None if due is None else scheduled.next_occurrence,
        next_due_at=due,
        reason=scheduled.reason,
        updated_at=now_us,
    )
