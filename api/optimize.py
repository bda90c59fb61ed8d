"""Latency and throughput profiles (`/execution/optimize`): switch the processors' batching live.

The request publishes a batching profile on `profiles` (streams/profiles.py decides the
settings); every processor applies it at its next batch boundary, without a restart
(streams/runtime.py). The answer waits one measurement window, then gives each measure over the
window before the switch and the window after it, from the orders the API's view follows:
signal to acknowledgement p50 and p99, and acknowledgements a second; and the workers that
report the profile in force.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fillstream import control, settings
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.measures import execution_metrics
from fillstream.schemas.models import OptimizationTarget

if TYPE_CHECKING:
    from fillstream.api.app import Services

__all__ = ["OptimizeRequest", "add_optimize_routes", "measures"]


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


def add_optimize_routes(
    admin: APIRouter,
    services: Services,
    publish: Callable[[Callable[[list[Any]], int], list[Any]], None],
    issuer: str,
) -> None:
    """The route on the API's `admin` router; `publish` sends records, answering 503 when the
    broker does not take them."""

    def measured(window_s: int) -> dict[str, Any]:
        with services.lock:
            return measures(
                execution_metrics(
                    services.view.orders.values(),
                    services.view.executions,
                    services.clock_us(),
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

    @admin.post("/execution/optimize", response_model=Envelope[dict[str, Any]])
    async def optimize(request: Request, body: OptimizeRequest) -> JSONResponse:
        """Switch every processor's batching to the `latency`, `throughput` or `balanced`
        (configured) profile, capped by `constraints`; answer after `window_seconds` with the
        measures before and after the switch."""
        if services.publish_profiles is None:
            raise ApiError(409, ErrorCode.CONFLICT, "this API does not publish profiles")
        try:
            profile = control.batching_profile(
                body.optimization_target, control.stamp(), issuer, body.constraints
            )
        except ValueError as error:
            raise ApiError(
                422,
                ErrorCode.VALIDATION_FAILED,
                str(error),
                [{"field": "constraints", "message": str(error)}],
            ) from None
        before = measured(body.window_seconds)
        publish(services.publish_profiles, [profile])
        await asyncio.sleep(body.window_seconds)
        data = {
            "profile": profile.model_dump(mode="json"),
            "guarantee": settings.processing_guarantee(),
            "before": before,
            "after": measured(body.window_seconds),
            "applied_by": applied_by(profile.profile_id),
        }
        return respond(request, data)
