"""Latency and throughput profiles (`/execution/optimize`): switch the processors' batching live.

The request publishes a batching profile on `profiles` (streams/profiles.py decides the
settings); every processor applies it at its next batch boundary, without a restart
(streams/runtime.py). It answers at once with the measures over the window before the switch;
`GET /execution/optimize/{profile_id}` adds those over the window after it, once that window
has passed (no request is held open for it), from the orders the API's view follows: signal
to acknowledgement p50 and p99, and acknowledgements a second; and the workers that report the
profile in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fillstream import control, settings
from fillstream.api.access import Scoped, area
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.measures import execution_metrics
from fillstream.api.routes.publishing import ISSUER, publish
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.schemas.models import BatchingProfile, Identifier, OptimizationTarget

__all__ = ["OptimizeRequest", "measures", "router"]

KEEP = 100  # switches whose measures the API still answers for, the latest


class OptimizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    optimization_target: OptimizationTarget
    # Caps on the settings the profile chooses: max_linger_ms, max_commit_interval_ms, ...
    constraints: dict[str, int] = Field(default_factory=dict)
    window_seconds: Annotated[int, Field(ge=1, le=300)] = 10


def measures(metrics: dict[str, Any]) -> dict[str, Any]:
    """What a profile moves, from `execution_metrics`: signal→ack p50/p99, acks a second."""
    to_ack = metrics["latency_ms"]["signal_to_ack"]
    return {
        "signal_to_ack_p50_ms": to_ack["p50"],
        "signal_to_ack_p99_ms": to_ack["p99"],
        "acks_per_second": to_ack["count"] / metrics["window_seconds"],
        "orders": metrics["orders"],
    }


@dataclass(frozen=True)
class _Switch:
    profile: BatchingProfile
    before: dict[str, Any]
    window_s: int

    @property
    def after_at(self) -> int:
        """When the window after the switch has passed (µs)."""
        return self.profile.created_at + self.window_s * 1_000_000


def router(services: Services, scoped: Scoped) -> APIRouter:
    """Batching profile switches: ask for one, then read its measures."""
    read = scoped(Scope.READ)
    admin = scoped(Scope.ADMIN)
    switches: dict[str, _Switch] = {}  # by profile id, oldest first, the latest KEEP

    def measured(until_us: int, window_s: int) -> dict[str, Any]:
        with services.lock:
            return measures(
                execution_metrics(
                    services.view.orders.values(),
                    services.view.executions,
                    until_us,
                    window_s * 1_000_000,
                )
            )

    def applied_by(profile_id: str) -> list[str]:
        with services.lock:
            return sorted(
                dict(labels)["worker"]
                for (_, name, labels) in services.view.series
                if name == "batching_profile" and dict(labels).get("profile_id") == profile_id
            )

    def answer(switch: _Switch) -> dict[str, Any]:
        ready = services.clock_us() >= switch.after_at
        return {
            "profile": switch.profile.model_dump(mode="json"),
            "guarantee": settings.processing_guarantee(),
            "window_seconds": switch.window_s,
            "before": switch.before,
            "after_at": switch.after_at,
            "after": measured(switch.after_at, switch.window_s) if ready else None,
            "applied_by": applied_by(switch.profile.profile_id),
        }

    @admin.post("/execution/optimize", status_code=202, response_model=Envelope[dict[str, Any]])
    def optimize(request: Request, body: OptimizeRequest) -> JSONResponse:
        """Switch every processor's batching to the `latency`, `throughput` or `balanced`
        (configured) profile, capped by `constraints`. Answers with the measures over the
        `window_seconds` before the switch; `GET /execution/optimize/{profile_id}` adds those
        over the window after it, from `after_at` on."""
        if services.publish_profiles is None:
            raise ApiError(409, ErrorCode.CONFLICT, "this API does not publish profiles")
        try:
            profile = control.batching_profile(
                body.optimization_target, control.stamp(), ISSUER, body.constraints
            )
        except ValueError as error:
            raise ApiError(
                422,
                ErrorCode.VALIDATION_FAILED,
                str(error),
                [{"field": "constraints", "message": str(error)}],
            ) from None
        window = body.window_seconds
        switch = _Switch(profile, measured(profile.created_at, window), window)
        publish(services.publish_profiles, [profile])
        with services.lock:
            switches[profile.profile_id] = switch
            if len(switches) > KEEP:
                del switches[next(iter(switches))]
        return respond(request, answer(switch), 202)

    @read.get("/execution/optimize/{profile_id}", response_model=Envelope[dict[str, Any]])
    def switched(request: Request, profile_id: Annotated[Identifier, Path()]) -> JSONResponse:
        """A switch asked for here: the measures before it, and after it once its window has
        passed (`after` is null until `after_at`), and the workers that apply it."""
        with services.lock:
            switch = switches.get(profile_id)
        if switch is None:
            raise ApiError(404, ErrorCode.NOT_FOUND, f"no profile switch {profile_id!r} here")
        return respond(request, answer(switch))

    return area(read, admin)
