"""Scheduled and recurring executions (`/execution/tasks`): create, list, cancel.

A create or a cancel is a record on `schedules` (fillstream/control.py, as the CLI sends it);
the scheduler holds the schedule and publishes its occurrences' signals, which risk and the
rest of the pipeline take as any other. The list answers from `schedules.state`, where the
scheduler says where each schedule stands; a schedule created here that it has not reported
yet is listed as `submitted`, and may be cancelled already.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from fillstream import control
from fillstream.api.access import Scoped, area
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.routes.publishing import ISSUER, publish
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.domain.ids import REDELIVERY_MEMORY
from fillstream.schemas.models import Schedule, ScheduleId, ScheduleState, ScheduleStatus

__all__ = ["router"]

SUBMITTED = "submitted"  # created here, not reported by the scheduler yet


def router(services: Services, scoped: Scoped) -> APIRouter:
    """Scheduled executions: create, list and cancel schedules."""
    read = scoped(Scope.READ)
    trade = scoped(Scope.TRADE)
    # Schedules created here, oldest first, the latest REDELIVERY_MEMORY of them.
    submitted: dict[str, Schedule] = {}

    def known(schedule_id: str) -> tuple[ScheduleState | None, Schedule | None]:
        with services.lock:
            return services.view.schedules.get(schedule_id), submitted.get(schedule_id)

    @trade.post("/execution/tasks", status_code=202, response_model=Envelope[dict[str, Any]])
    def create_task(request: Request, draft: control.ScheduleDraft) -> JSONResponse:
        """Schedule a signal: once at `start_at` (default now), or every `every_seconds` from
        `start_at` until `end_at` and at most `max_occurrences` times. Occurrence n is
        published as signal `<schedule_id>:<n>`, created at its due time. `missed` (`skip`, the
        default, or `catch_up`) says what becomes of occurrences due while the system was down.
        Answers with the schedule id and the first due time; 409 if the id is taken."""
        if draft.schedule_id is not None and known(draft.schedule_id) != (None, None):
            raise ApiError(409, ErrorCode.CONFLICT, f"schedule {draft.schedule_id!r} exists")
        try:
            schedule = control.schedule_from(draft, control.stamp(), ISSUER)
        except ValidationError as error:
            raise ApiError(
                422,
                ErrorCode.VALIDATION_FAILED,
                "the schedule is not valid",
                [{"field": "body", "message": item["msg"]} for item in error.errors()],
            ) from error
        publish(services.publish_schedules, [schedule])
        with services.lock:
            submitted[schedule.schedule_id] = schedule
            if len(submitted) > REDELIVERY_MEMORY:
                del submitted[next(iter(submitted))]
        data = {
            "schedule_id": schedule.schedule_id,
            "next_due_at": schedule.start_at,
            "next_signal_id": f"{schedule.schedule_id}:1",
            "schedule": schedule.model_dump(mode="json"),
        }
        return respond(request, data, 202)

    @read.get("/execution/tasks", response_model=Envelope[dict[str, Any]])
    def list_tasks(
        request: Request,
        status: Annotated[list[ScheduleStatus] | None, Query()] = None,
    ) -> JSONResponse:
        """Every schedule (or those of the `status`es given) by id, with its next occurrence
        and due time, and how many occurrences were published and skipped."""
        with services.lock:
            reported = dict(services.view.schedules)
            pending = [s for i, s in submitted.items() if i not in reported]
        tasks = [
            {
                "schedule_id": state.schedule_id,
                "status": state.status.value,
                "next_occurrence": state.next_occurrence,
                "next_due_at": state.next_due_at,
                "published": state.published,
                "skipped": state.skipped,
                "reason": state.reason,
                "schedule": state.schedule.model_dump(mode="json"),
            }
            for state in reported.values()
            if not status or state.status in status
        ]
        if not status:
            tasks += [
                {
                    "schedule_id": schedule.schedule_id,
                    "status": SUBMITTED,
                    "next_occurrence": 1,
                    "next_due_at": schedule.start_at,
                    "published": 0,
                    "skipped": 0,
                    "reason": None,
                    "schedule": schedule.model_dump(mode="json"),
                }
                for schedule in pending
            ]
        tasks.sort(key=lambda task: task["schedule_id"])
        return respond(request, {"tasks": tasks, "total": len(tasks)})

    @trade.delete(
        "/execution/tasks/{schedule_id}", status_code=202, response_model=Envelope[dict[str, Any]]
    )
    def cancel_task(
        request: Request,
        schedule_id: Annotated[ScheduleId, Path()],
        reason: Annotated[str | None, Query(max_length=500)] = None,
    ) -> JSONResponse:
        """Cancel a schedule: no occurrence after the cancel reaches the scheduler is
        published (those published stay). 404 if unknown, 409 if completed or cancelled."""
        state, created = known(schedule_id)
        if state is None and created is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no schedule {schedule_id!r}")
        if state is not None and state.status is not ScheduleStatus.ACTIVE:
            raise ApiError(
                409, ErrorCode.CONFLICT, f"schedule {schedule_id!r} is already {state.status}"
            )
        cancel = control.schedule_cancel(schedule_id, control.stamp(), ISSUER, reason)
        publish(services.publish_schedules, [cancel])
        return respond(request, {"schedule": cancel.model_dump(mode="json")}, 202)

    return area(read, trade)
