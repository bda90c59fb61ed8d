"""The processors' workers (`/execution/metrics`, `/execution/resources`): what they hold and use,
and how many run (`/execution/resources/allocate`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fillstream.api.access import Scoped, area
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.measures import execution_metrics
from fillstream.api.resources import processor_usage, workers
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.schemas.models import Identifier

__all__ = ["AllocateRequest", "router"]


class AllocateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    processor: Identifier
    workers: Annotated[int, Field(ge=1)]


def router(services: Services, scoped: Scoped) -> APIRouter:
    """The processors' figures and workers, and how many workers run."""
    read = scoped(Scope.READ)
    admin = scoped(Scope.ADMIN)

    @read.get("/execution/metrics", response_model=Envelope[dict[str, Any]])
    def metrics_summary(
        request: Request,
        window: Annotated[int, Query(ge=1, le=31 * 86_400, description="Seconds.")] = 300,
    ) -> JSONResponse:
        """Orders created in the last `window` seconds: latency percentiles (signal to
        acknowledgement and to first fill), orders and fills per second, outcome rates; and
        each processor's live workers with the CPU and resident memory they use now."""
        now_us = services.clock_us()
        with services.lock:
            data = execution_metrics(
                services.view.orders.values(),
                services.view.executions,
                now_us,
                window * 1_000_000,
            )
            usage = processor_usage(now_us / 1e6, services.processors, services.view.series)
        return respond(request, data | {"processors": usage})

    @read.get("/execution/resources", response_model=Envelope[dict[str, Any]])
    def resources(request: Request) -> JSONResponse:
        """Each processor's live workers (host:pid): the partitions each holds, their lag,
        its CPU % (of one core) and resident memory, from their heartbeats on `metrics`."""
        now_s = services.clock_us() / 1e6
        with services.lock:
            listing = workers(now_s, services.processors, services.view.series)
        data = {
            "processors": [
                {"processor": name, "workers": entries} for name, entries in listing.items()
            ]
        }
        return respond(request, data)

    @admin.post(
        "/execution/resources/allocate", status_code=202, response_model=Envelope[dict[str, Any]]
    )
    def allocate(request: Request, wanted: AllocateRequest) -> JSONResponse:
        """Run `workers` workers of `processor` (risk or desk) under the local supervisor of
        `fillstream up`, which starts or stops workers; the consumer group then shares the
        partitions among them. 409 without a supervisor (on a cluster, the orchestrator
        scales: infra/k8s/)."""
        if services.allocate is None:
            raise ApiError(409, ErrorCode.CONFLICT, "this API does not scale the processors")
        try:
            running = services.allocate(wanted.processor, wanted.workers)
        except LookupError as error:
            raise ApiError(409, ErrorCode.CONFLICT, str(error)) from None
        except ValueError as error:
            raise ApiError(
                422,
                ErrorCode.VALIDATION_FAILED,
                str(error),
                [{"field": "body", "message": str(error)}],
            ) from None
        data = {"processor": wanted.processor, "workers": wanted.workers, "running": running}
        return respond(request, data, 202)

    return area(read, admin)
