"""The REST API under `/api/v1`: `create_app(services)` builds it around what it needs.

Writes go to the pipeline's input topics (`signals`, `commands`) through `fillstream.control`,
the module the CLI uses too; reads answer from the in-memory view of the output topics
(`api/view.py`). Every answer is an envelope (`api/envelope.py`); every route needs an API
key whose scope covers it (`api/access.py`): `read` for GETs and what-ifs, `trade` to
submit, modify or cancel orders, `admin` to pause accounts and throw the kill switch. The
routes are a router per area (`api/routes/`).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry

from fillstream import __version__
from fillstream.api.access import scoped_routers
from fillstream.api.envelope import install
from fillstream.api.exposition import ApiFigures, PipelineCollector
from fillstream.api.routes import (
    accounts,
    market,
    optimize,
    orders,
    resources,
    routing,
    status,
    tasks,
)
from fillstream.api.services import Services

__all__ = ["PREFIX", "create_app"]

PREFIX = "/api/v1"


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="fillstream",
        version=__version__,
        description="Submit orders to the execution pipeline, follow them, measure them.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    install(app, services.clock_us)
    registry = CollectorRegistry()
    figures = ApiFigures(registry)
    registry.register(PipelineCollector(lambda: _latest_series(services)))

    @app.middleware("http")
    async def measure(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        figures.observe(
            request.method, template, response.status_code, time.perf_counter() - started
        )
        return response

    scoped = scoped_routers(services, PREFIX)
    for router in (
        orders.router(services, scoped),
        routing.router(services, scoped),
        market.router(services, scoped),
        resources.router(services, scoped),
        tasks.router(services, scoped),
        optimize.router(services, scoped),
        status.router(services, scoped, registry),
        accounts.router(services, scoped),
    ):
        app.include_router(router)
    return app


def _latest_series(services: Services) -> list[Any]:
    with services.lock:
        return list(services.view.series.values())
