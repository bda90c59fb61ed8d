"""Accounts (`/accounts`): their standing and allocations, pause and resume, correlations, and
the kill switch (`/kill-switch`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fillstream import control
from fillstream.api.access import Scoped, area
from fillstream.api.accounts import account_status
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, respond
from fillstream.api.paging import MAX_LIMIT
from fillstream.api.routes.answers import PathId, not_found
from fillstream.api.routes.publishing import ISSUER, publish, publish_command
from fillstream.api.security import Scope
from fillstream.api.services import Services
from fillstream.schemas.models import CommandKind, Identifier

__all__ = ["CorrelationRequest", "KillSwitchRequest", "ReasonRequest", "router"]


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=500)] | None = None


class CorrelationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_a: Identifier
    account_b: Identifier
    correlation: Annotated[float, Field(ge=-1, le=1)]


class KillSwitchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool
    account_id: Identifier | None = None
    reason: Annotated[str, Field(max_length=500)] | None = None


def router(services: Services, scoped: Scoped) -> APIRouter:
    """Accounts' standing and history; pause, resume, correlations, the kill switch."""
    read = scoped(Scope.READ)
    admin = scoped(Scope.ADMIN)

    def configured_account(account_id: str) -> Any:
        account = services.engine.accounts.accounts.get(account_id)
        if account is None:
            raise not_found("account", account_id)
        return account

    @read.get("/accounts/{account_id}", response_model=Envelope[dict[str, Any]])
    def account_detail(request: Request, account_id: PathId) -> JSONResponse:
        """An account of the configuration: state, available margin, risk budget left, daily
        PnL and drawdown, open positions and working orders."""
        account = configured_account(account_id)
        with services.lock:
            standing = services.view.accounts.get(account_id)
            orders = list(services.view.orders.values())
            funds = services.engine.accounts.venue_funds(services.view.balances)
        return respond(request, account_status(account, standing, orders, funds.get(account_id)))

    @read.get("/accounts/{account_id}/history", response_model=Envelope[dict[str, Any]])
    def account_history(
        request: Request,
        account_id: PathId,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> JSONResponse:
        """The allocations that considered the account, newest first: each group signal's
        whole rationale, this account's line among the others."""
        configured_account(account_id)
        with services.lock:
            history = list(services.view.allocations.get(account_id, ()))
        latest = history[::-1][:limit]
        data = {
            "account_id": account_id,
            "allocations": [allocation.model_dump(mode="json") for allocation in latest],
        }
        return respond(request, data)

    @admin.put("/accounts/correlations", status_code=202, response_model=Envelope[dict[str, Any]])
    def set_correlation(request: Request, pair: CorrelationRequest) -> JSONResponse:
        """Set two accounts' correlation on `accounts.correlations`: the allocator makes
        accounts correlated above their group's `max_correlation` share one allocation."""
        if services.publish_correlations is None:
            raise ApiError(409, ErrorCode.CONFLICT, "this API does not publish correlations")
        if pair.account_a == pair.account_b:
            message = "account_a and account_b must be two different accounts"
            raise ApiError(
                422, ErrorCode.VALIDATION_FAILED, message, [{"field": "body", "message": message}]
            )
        built = control.correlation(
            pair.account_a, pair.account_b, pair.correlation, control.stamp(), ISSUER
        )
        publish(services.publish_correlations, [built])
        return respond(request, built.model_dump(mode="json"), 202)

    @admin.post(
        "/accounts/{account_id}/{action}",
        status_code=202,
        response_model=Envelope[dict[str, Any]],
    )
    def account(
        request: Request,
        account_id: PathId,
        action: Literal["pause", "resume"],
        body: Annotated[ReasonRequest | None, Body()] = None,
    ) -> JSONResponse:
        """Pause an account (risk refuses its new orders) or resume it."""
        kind = CommandKind.PAUSE if action == "pause" else CommandKind.RESUME
        reason = body.reason if body else None
        return publish_command(
            services,
            request,
            control.account_command(kind, account_id, control.stamp(), ISSUER, reason),
        )

    @admin.put("/kill-switch", status_code=202, response_model=Envelope[dict[str, Any]])
    def kill_switch(request: Request, change: KillSwitchRequest) -> JSONResponse:
        """Throw (`on: true`) or release the kill switch of one account, or of all without
        `account_id`: risk refuses new orders and the executors cancel working ones."""
        built = control.kill_switch_command(
            change.on, change.account_id, control.stamp(), ISSUER, change.reason
        )
        return publish_command(services, request, built)

    return area(read, admin)
