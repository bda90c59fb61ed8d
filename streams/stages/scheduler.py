"""The scheduler processor's core: schedules in, their occurrences' signals out, on the clock.

Partitioned by schedule id; every partition reads every tick of `clock` (broadcast), and time
passes only as ticks arrive, so the runtime's input-order journal makes a tick processed again
after a crash publish exactly what it published the first time. A tick no later than the
stage's clock changes nothing: a second ticker beside the live one (a feed's or a bench's
ticks) cannot move time back.

A schedule id is created once: a `create` for an id already held (a re-delivery, or new terms
under an old id) is ignored, so occurrences already published are never published again under
other terms; to change a schedule, cancel it and create another. A `cancel` stops further
occurrences; one for an unknown id is ignored (its create, if any, was compacted away after
this same cancel).
"""

from __future__ import annotations

import heapq
from typing import Any

from fillstream.schemas.models import ClockTick, Schedule, ScheduleAction
from fillstream.streams import schedules
from fillstream.streams.schedules import Scheduled
from fillstream.streams.stages import Emit

__all__ = ["SchedulerStage"]


class SchedulerStage:
    inputs = ("schedules", "clock")
    outputs = ("signals", "schedules.state")
    durable = ("held", "clock")
    held: dict[str, Scheduled]  # by schedule id, those done and cancelled too
    clock: int  # µs: the latest tick's time

    def __init__(self) -> None:
        self.held = {}
        self.clock = 0
        # Derived from `held`: the active schedules' next due times, and a heap of them (an
        # entry whose time no longer matches `_due` is stale), so that a tick looks only at
        # what falls due, not at every schedule ever held.
        self._due: dict[str, int] = {}
        self._queue: list[tuple[int, str]] = []

    def restored(self) -> None:
        self._due, self._queue = {}, []
        for scheduled in self.held.values():
            self._expect(scheduled)

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if topic == "clock":
            tick: ClockTick = record
            return self._tick(tick.timestamp)
        schedule: Schedule = record
        known = self.held.get(schedule.schedule_id)
        if schedule.action is ScheduleAction.CANCEL:
            if known is None or known.cancelled:
                return []
            changed = schedules.cancel(known, schedule.reason)
        elif known is None:
            changed = Scheduled(schedule)
        else:
            return []
        self.held[schedule.schedule_id] = changed
        self._expect(changed)
        return [Emit("schedules.state", schedules.state_of(changed, max(self.clock, now_us)))]

    def _tick(self, now_us: int) -> list[Emit]:
        if now_us <= self.clock:
            return []
        self.clock = now_us
        due: set[str] = set()
        while self._queue and self._queue[0][0] <= now_us:
            at, schedule_id = heapq.heappop(self._queue)
            if self._due.get(schedule_id) == at:
                due.add(schedule_id)
        emits: list[Emit] = []
        for schedule_id in sorted(due):  # an order that survives a restore
            advanced, signals = schedules.advance(self.held[schedule_id], now_us)
            self.held[schedule_id] = advanced
            self._expect(advanced)
            emits += [Emit("signals", signal) for signal in signals]
            emits.append(Emit("schedules.state", schedules.state_of(advanced, now_us)))
        return emits

    def _expect(self, scheduled: Scheduled) -> None:
        """Note when `scheduled` next falls due, if it ever does."""
        schedule_id = scheduled.schedule.schedule_id
        at = (
            None
            if scheduled.cancelled
            else schedules.due_at(scheduled.schedule, scheduled.next_occurrence)
        )
        if at is None:
            self._due.pop(schedule_id, None)
        elif self._due.get(schedule_id) != at:
            self._due[schedule_id] = at
            heapq.heappush(self._queue, (at, schedule_id))
