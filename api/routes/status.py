"""The engine's health (`/health`), its venues' adapters (`/adapters`) and Prometheus figures
(`/metrics`).
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from fillstream.api.access import Scoped, area
from fillstream.api.cluster import GroupLag
from fillstream.api.envelope import Envelope, respond
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.api.status import adapters, health

__all__ = ["router"]


def router(services: Services, scoped: Scoped, registry: CollectorRegistry) -> APIRouter:
    """Health, adapters and the Prometheus figures of `registry`."""
    read = scoped(Scope.READ)

    @read.get("/adapters", response_model=Envelope[dict[str, Any]])
    def venue_adapters(request: Request) -> JSONResponse:
        """Every venue: simulated, or reached over ccxt with its circuit breaker's state."""
        with services.lock:
            data = adapters(services.engine, dict(services.view.series))
        return respond(request, {"adapters": data})

    @read.get("/health", response_model=Envelope[dict[str, Any]])
    def engine_health(request: Request) -> JSONResponse:
        """Broker reachable, each processor's heartbeat age, each consumer group's lag.
        Always 200 when the API answers: `healthy` says whether the engine is."""
        reachable = services.cluster.reachable()
        lags: dict[str, GroupLag | str] = {}
        for processor in services.processors:
            if not reachable:
                lags[processor] = "broker unreachable"
                continue
            try:
                lags[processor] = services.cluster.group_lag(services.group_of(processor))
            except KafkaException as error:
                lags[processor] = str(error)
        with services.lock:
            series = dict(services.view.series)
        data = health(services.clock_us() / 1e6, reachable, services.processors, series, lags)
        return respond(request, data)

    @read.get("/metrics", response_class=Response)
    def prometheus() -> Response:
        """Prometheus text: the API's request figures and the pipeline's latest series."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return area(read)
