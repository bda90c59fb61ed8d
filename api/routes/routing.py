"""How an order would go (`/routes`, `/algorithms`): the venues the router chooses among, its
plan for an order against the current quotes, the execution algorithms.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fillstream import control
from fillstream.api.access import Scoped, area
from fillstream.api.envelope import Envelope, respond
from fillstream.api.routes.answers import as_json
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.schemas.decimals import format_decimal
from fillstream.streams.execution.algorithms.catalog import CATALOG, DIRECT
from fillstream.streams.routing import NoVenue, plan_route

__all__ = ["router"]


def router(services: Services, scoped: Scoped) -> APIRouter:
    """The router's venues and its plan for an order, and the algorithms; nothing is sent."""
    read = scoped(Scope.READ)

    @read.get("/routes", response_model=Envelope[dict[str, Any]])
    def routes(request: Request) -> JSONResponse:
        """The venues the router chooses among: fees, priority, lit or dark, symbols."""
        venues = [
            {
                "venue": venue.name,
                "maker_fee": format_decimal(venue.maker_fee),
                "taker_fee": format_decimal(venue.taker_fee),
                "priority": venue.priority,
                "dark": venue.dark,
                "min_size": format_decimal(venue.min_size),
                "latency_us": venue.latency_us,
                "symbols": sorted(
                    s for v, s in services.engine.instruments.instruments if v == venue.name
                ),
            }
            for venue in services.engine.venues.values()
        ]
        return respond(request, {"venues": venues})

    @read.post("/routes/optimize", response_model=Envelope[dict[str, Any]])
    def optimize_route(request: Request, draft: control.SignalDraft) -> JSONResponse:
        """What-if: the router's plan for this order against the current quotes. Nothing is
        sent."""
        signal = control.signal_from(draft, control.stamp())
        with services.lock:
            quotes = dict(services.view.quotes.get(signal.symbol, {}))
        engine = services.engine
        try:
            plan = plan_route(signal, engine.venues, quotes, engine.instruments)
        except NoVenue as error:
            return respond(request, {"symbol": signal.symbol, "plan": [], "reason": str(error)})
        data = {
            "symbol": signal.symbol,
            "side": signal.side.value,
            "quantity": format_decimal(signal.quantity),
            "plan": [as_json(allocation) for allocation in plan],
            "quotes": {venue: as_json(quote) for venue, quote in sorted(quotes.items())},
            "reason": None,
        }
        return respond(request, data)

    @read.get("/algorithms", response_model=Envelope[dict[str, Any]])
    def algorithms(request: Request) -> JSONResponse:
        """The execution algorithms and their parameters (type, required, default)."""
        entries = [spec.describe() for spec in CATALOG.values()]
        return respond(request, {"algorithms": entries, "default": DIRECT})

    return area(read)
