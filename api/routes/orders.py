"""Orders (`/orders`, `/execute`): submit, follow, modify and cancel them; a slice's executions
(`/transactions`) and an order's TCA (`/tca`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fillstream import control
from fillstream.api.access import Scoped, area
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.paging import MAX_LIMIT, OrderFilter, page, select_orders
from fillstream.api.plans import planned_execution
from fillstream.api.routes.answers import PathId, as_json, not_found
from fillstream.api.routes.publishing import ISSUER, publish, publish_command
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import TERMINAL, OrderStatus, Positive, Side
from fillstream.streams.orders import amend

__all__ = ["ExecuteRequest", "ModifyRequest", "router"]


class ExecuteRequest(control.SignalDraft):
    """A direct-execution order: the whole order at once across the routing plan's venues."""

    algorithm: Literal["direct"] | None = None  # type: ignore[assignment]


class ModifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: Positive | None = None
    price: Positive | None = None
    reason: Annotated[str, Field(max_length=500)] | None = None


def router(services: Services, scoped: Scoped) -> APIRouter:
    """Submit, follow, modify and cancel orders; read a slice's executions, an order's TCA."""
    read = scoped(Scope.READ)
    trade = scoped(Scope.TRADE)

    def submit(request: Request, draft: control.SignalDraft) -> JSONResponse:
        signal = control.signal_from(draft, control.stamp())
        publish(services.publish_signals, [signal])
        if signal.allocation_group is not None:  # the allocator's children are the orders
            accounts = services.engine.accounts
            return respond(request, control.group_submission(signal, accounts, trade.prefix), 202)
        order_id = control.order_id_of(signal)
        with services.lock:
            services.submitted.remember(order_id, signal.symbol)
            window = services.view.trades.get(signal.symbol)
            pace = window.pace(services.view.market_time(signal.symbol)) if window else None
        data = {
            "order_id": order_id,
            "signal_id": signal.signal_id,
            "signal": as_json(signal),
            **planned_execution(signal, services.engine, pace),
        }
        return respond(request, data, 202)

    def order_symbol(order_id: str) -> str:
        """The symbol of an order still working (commands are keyed by it): 404 if the order
        is unknown, 409 if it has ended."""
        with services.lock:
            state = services.view.orders.get(order_id)
            symbol = state.symbol if state else services.submitted.note(order_id)
        if symbol is None:
            raise not_found("order", order_id)
        if state is not None and state.status in TERMINAL:
            raise ApiError(
                409, ErrorCode.CONFLICT, f"order {order_id} is already {state.status.value}"
            )
        return symbol

    @trade.post("/orders", status_code=202, response_model=Envelope[dict[str, Any]])
    def submit_order(request: Request, draft: control.SignalDraft) -> JSONResponse:
        """Submit a signal (the `signals` contract; `signal_id` and `created_at` may be left
        out). Answers with the order id the pipeline will use, its algorithm, the slices it
        plans and when the last is due (the algorithm's preview); risk decides on
        `orders.rejected`, and the order's status shows here."""
        return submit(request, draft)

    @trade.post("/execute", status_code=202, response_model=Envelope[dict[str, Any]])
    def execute(request: Request, draft: ExecuteRequest) -> JSONResponse:
        """A direct-execution order: the whole order at once across the routing plan."""
        return submit(request, control.direct(draft))

    @read.get("/orders/{order_id}", response_model=Envelope[dict[str, Any]])
    def order_status(request: Request, order_id: PathId) -> JSONResponse:
        """An order's latest state, its slices, its risk score once risk approved it, and its
        rejection if it was refused."""
        with services.lock:
            state = services.view.orders.get(order_id)
            risk_score = services.view.risk_scores.get(order_id)
            rejection = services.view.rejections.get(order_id)
            reports = services.view.executions.get(order_id, {}).values()
            slices = {report.slice_id for report in reports}
            symbol = services.submitted.note(order_id)
        if state is None and rejection is None and symbol is None:
            raise not_found("order", order_id)
        data = {
            "order_id": order_id,
            "status": state.status.value if state else "submitted",
            "order": as_json(state) if state else None,
            "risk_score": risk_score,
            "slices": sorted(slices),
            "rejection": as_json(rejection) if rejection else None,
        }
        return respond(request, data)

    @trade.put("/orders/{order_id}", status_code=202, response_model=Envelope[dict[str, Any]])
    def modify_order(request: Request, order_id: PathId, change: ModifyRequest) -> JSONResponse:
        """Ask for a lower quantity or a limit further from the market (a `modify` command on
        `commands`); 409 with the reason if the order's current terms refuse it."""
        symbol = order_symbol(order_id)
        if change.quantity is None and change.price is None:
            raise ApiError(
                422,
                ErrorCode.VALIDATION_FAILED,
                "a modify needs a new quantity or price",
                [{"field": "body", "message": "give quantity, price or both"}],
            )
        built = control.modify_command(
            order_id,
            symbol,
            control.stamp(),
            ISSUER,
            quantity=change.quantity,
            price=change.price,
            reason=change.reason,
        )
        with services.lock:
            state = services.view.orders.get(order_id)
        why = None if state is None else amend.refusal(state, built)
        if why is not None:
            raise ApiError(409, ErrorCode.CONFLICT, f"modify refused: {why}")
        return publish_command(services, request, built)

    @trade.delete("/orders/{order_id}", status_code=202, response_model=Envelope[dict[str, Any]])
    def cancel_order(
        request: Request,
        order_id: PathId,
        reason: Annotated[str | None, Query(max_length=500)] = None,
    ) -> JSONResponse:
        """Cancel an order (a `cancel` command on `commands`); its status follows."""
        symbol = order_symbol(order_id)
        return publish_command(
            services,
            request,
            control.cancel_command(order_id, symbol, control.stamp(), ISSUER, reason),
        )

    @read.get("/orders", response_model=Envelope[dict[str, Any]])
    def list_orders(
        request: Request,
        status: Annotated[list[OrderStatus] | None, Query()] = None,
        account_id: Annotated[str | None, Query(max_length=128)] = None,
        strategy_id: Annotated[str | None, Query(max_length=128)] = None,
        symbol: Annotated[str | None, Query(max_length=128)] = None,
        side: Side | None = None,
        algorithm: Annotated[str | None, Query(max_length=64)] = None,
        created_from: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
        created_to: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    ) -> JSONResponse:
        """Orders, newest first, filtered (every filter given must match; `status` may
        repeat) and paged (`limit`, `offset`; `next_offset` is null on the last page)."""
        where = OrderFilter(
            frozenset(status or ()),
            account_id,
            strategy_id,
            symbol,
            side,
            algorithm,
            created_from,
            created_to,
        )
        with services.lock:
            chosen = page(select_orders(services.view.orders.values(), where), limit, offset)
            items = [as_json(order) for order in chosen.items]
        data = {
            "orders": items,
            "total": chosen.total,
            "limit": chosen.limit,
            "offset": chosen.offset,
            "next_offset": chosen.next_offset,
        }
        return respond(request, data)

    @read.get("/transactions/{slice_id}", response_model=Envelope[dict[str, Any]])
    def transactions(request: Request, slice_id: PathId) -> JSONResponse:
        """A slice's execution reports at its venue, oldest first."""
        with services.lock:
            reports = services.view.reports_of_slice(slice_id)
            items = [as_json(report) for report in reports]
        if not items:
            raise not_found("slice", slice_id)
        first = reports[0]
        data = {
            "slice_id": slice_id,
            "order_id": first.order_id,
            "venue": first.venue,
            "filled_quantity": format_decimal(sum((r.last_quantity for r in reports), Decimal(0))),
            "executions": items,
        }
        return respond(request, data)

    @read.get("/tca/{order_id}", response_model=Envelope[dict[str, Any]])
    def tca(request: Request, order_id: PathId) -> JSONResponse:
        """An order's transaction cost analysis, once the TCA processor has measured it."""
        with services.lock:
            result = services.view.tca.get(order_id)
        if result is None:
            raise not_found("TCA for order", order_id)
        return respond(request, as_json(result))

    return area(read, trade)
