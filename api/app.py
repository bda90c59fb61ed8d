"""The REST API under `/api/v1`: `create_app(services)` builds it around what it needs.

Writes go to the pipeline's input topics (`signals`, `commands`) through `fillstream.control`,
the module the CLI uses too; reads answer from the in-memory view of the output topics
(`api/view.py`). Every answer is an envelope (`api/envelope.py`); every route needs an API
key whose scope covers it (`api/security.py`): `read` for GETs and what-ifs, `trade` to
submit, modify or cancel orders, `admin` to pause accounts and throw the kill switch.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

from confluent_kafka import KafkaException
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from fillstream import __version__, control
from fillstream.api.accounts import account_status
from fillstream.api.cluster import GroupLag
from fillstream.api.envelope import ApiError, Envelope, ErrorCode, install, respond
from fillstream.api.exposition import ApiFigures, PipelineCollector
from fillstream.api.measures import execution_metrics
from fillstream.api.optimize import add_optimize_routes
from fillstream.api.paging import MAX_LIMIT, OrderFilter, page, select_orders
from fillstream.api.plans import planned_execution
from fillstream.api.resources import processor_usage, workers
from fillstream.api.security import ApiKey, KeyRing, Scope, identify
from fillstream.api.status import adapters, health
from fillstream.api.tasks import add_task_routes
from fillstream.api.trade_window import WINDOW_MINUTES
from fillstream.api.view import EngineView
from fillstream.config import EngineConfig
from fillstream.connectors.gateway.ratelimit import TokenBucket
from fillstream.connectors.simvenue.book import BookView
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import (
    TERMINAL,
    AccountCorrelation,
    BatchingProfile,
    Command,
    CommandKind,
    Identifier,
    OrderStatus,
    Positive,
    Schedule,
    Side,
    Signal,
)
from fillstream.streams.execution.algorithms.catalog import CATALOG, DIRECT
from fillstream.streams.execution.ids import RecentIds
from fillstream.streams.orders import amend
from fillstream.streams.routing import NoVenue, plan_route

__all__ = ["PREFIX", "Cluster", "Services", "create_app"]

PREFIX = "/api/v1"
ISSUER = "api"


class Cluster(Protocol):
    def reachable(self) -> bool: ...
    def group_lag(self, group: str) -> GroupLag: ...
    def close(self) -> None: ...


@dataclass
class Services:
    """What the API works with; the server builds them from the environment, tests by hand."""

    engine: EngineConfig
    keys: KeyRing
    view: EngineView
    lock: threading.Lock
    cluster: Cluster
    publish_signals: Callable[[list[Signal]], int]
    publish_commands: Callable[[list[Command]], int]
    publish_schedules: Callable[[list[Schedule]], int]
    processors: tuple[str, ...]
    group_of: Callable[[str], str]
    rate_per_second: float = 50.0
    burst: float = 100.0
    clock_us: Callable[[], int] = field(default=lambda: time.time_ns() // 1000)
    monotonic: Callable[[], float] = time.monotonic
    # Orders submitted here that the view may not show yet: order id -> symbol.
    submitted: RecentIds = field(default_factory=RecentIds)
    # Asks the local supervisor for a processor's worker count, answering how many run now
    # (LookupError: no supervisor runs; ValueError: a count it cannot have); None: never asks.
    allocate: Callable[[str, int], int] | None = None
    # Publishes batching profiles on `profiles`; None: this API does not switch them.
    publish_profiles: Callable[[list[BatchingProfile]], int] | None = None
    # Publishes account correlations on `accounts.correlations`; None: this API does not.
    publish_correlations: Callable[[list[AccountCorrelation]], int] | None = None


# -- request bodies -----------------------------------------------------------------------


class ExecuteRequest(control.SignalDraft):
    """A direct-execution order: the whole order at once across the routing plan's venues."""

    algorithm: Literal["direct"] | None = None  # type: ignore[assignment]


class ModifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: Positive | None = None
    price: Positive | None = None
    reason: Annotated[str, Field(max_length=500)] | None = None


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(max_length=500)] | None = None


class AllocateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    processor: Identifier
    workers: Annotated[int, Field(ge=1)]


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


# -- helpers ------------------------------------------------------------------------------


def _json(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="json")


def _levels(book: BookView, side: Side, depth: int) -> list[dict[str, str]]:
    levels = []
    for price, quantity in book.levels(side):
        if len(levels) == depth:
            break
        levels.append({"price": format_decimal(price), "quantity": format_decimal(quantity)})
    return levels


def _not_found(what: str, name: str) -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, f"no {what} {name!r}")


_Id = Annotated[str, Path(min_length=1, max_length=128)]
# Module level: route signatures are resolved against the module's names.
key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


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
    buckets: dict[str, TokenBucket] = {}
    buckets_lock = threading.Lock()

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

    def needs(scope: Scope) -> Any:
        def check(
            key: Annotated[str | None, Security(key_header)],
            token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        ) -> ApiKey:
            presented = key or (token.credentials if token is not None else None)
            if not presented:
                raise ApiError(
                    401,
                    ErrorCode.UNAUTHORIZED,
                    "an API key is needed (X-API-Key header or Authorization: Bearer)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            entry = identify(services.keys, presented)
            if entry is None:
                raise ApiError(401, ErrorCode.UNAUTHORIZED, "unknown API key")
            if entry.scope < scope:
                raise ApiError(
                    403,
                    ErrorCode.FORBIDDEN,
                    f"this key's scope is {entry.scope.name.lower()};"
                    f" this needs {scope.name.lower()}",
                )
            now_us = int(services.monotonic() * 1_000_000)
            with buckets_lock:
                bucket = buckets.get(entry.key_id)
                if bucket is None:
                    bucket = buckets[entry.key_id] = TokenBucket(
                        services.burst, services.rate_per_second, now_us
                    )
                wait = bucket.try_take(now_us) / 1_000_000
            if wait > 0:
                raise ApiError(
                    429,
                    ErrorCode.RATE_LIMITED,
                    f"rate limit of {services.rate_per_second:g} requests/s reached",
                    {"retry_after_seconds": wait},
                    {"Retry-After": str(math.ceil(wait))},
                )
            return entry

        return Depends(check)

    read = APIRouter(prefix=PREFIX, dependencies=[needs(Scope.READ)])
    trade = APIRouter(prefix=PREFIX, dependencies=[needs(Scope.TRADE)])
    admin = APIRouter(prefix=PREFIX, dependencies=[needs(Scope.ADMIN)])

    def publish(send: Callable[[list[Any]], int], records: list[Any]) -> None:
        try:
            send(records)
        except KafkaException as error:
            raise ApiError(
                503, ErrorCode.BROKER_UNAVAILABLE, "the broker did not take the record"
            ) from error

    def submit(request: Request, draft: control.SignalDraft) -> JSONResponse:
        signal = control.signal_from(draft, control.stamp())
        publish(services.publish_signals, [signal])
        order_id = control.order_id_of(signal)
        with services.lock:
            services.submitted.remember(order_id, signal.symbol)
            window = services.view.trades.get(signal.symbol)
            volume = window.volume(services.view.market_time(signal.symbol)) if window else None
        pace = volume / (WINDOW_MINUTES * 60) if volume else None
        data = {
            "order_id": order_id,
            "signal_id": signal.signal_id,
            "signal": _json(signal),
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
            raise _not_found("order", order_id)
        if state is not None and state.status in TERMINAL:
            raise ApiError(
                409, ErrorCode.CONFLICT, f"order {order_id} is already {state.status.value}"
            )
        return symbol

    def command(request: Request, built: Command) -> JSONResponse:
        publish(services.publish_commands, [built])
        return respond(request, {"command": _json(built)}, 202)

    # -- orders ---------------------------------------------------------------------------

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
    def order_status(request: Request, order_id: _Id) -> JSONResponse:
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
            raise _not_found("order", order_id)
        data = {
            "order_id": order_id,
            "status": state.status.value if state else "submitted",
            "order": _json(state) if state else None,
            "risk_score": risk_score,
            "slices": sorted(slices),
            "rejection": _json(rejection) if rejection else None,
        }
        return respond(request, data)

    @trade.put("/orders/{order_id}", status_code=202, response_model=Envelope[dict[str, Any]])
    def modify_order(request: Request, order_id: _Id, change: ModifyRequest) -> JSONResponse:
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
        return command(request, built)

    @trade.delete("/orders/{order_id}", status_code=202, response_model=Envelope[dict[str, Any]])
    def cancel_order(
        request: Request,
        order_id: _Id,
        reason: Annotated[str | None, Query(max_length=500)] = None,
    ) -> JSONResponse:
        """Cancel an order (a `cancel` command on `commands`); its status follows."""
        symbol = order_symbol(order_id)
        return command(
            request, control.cancel_command(order_id, symbol, control.stamp(), ISSUER, reason)
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
            items = [_json(order) for order in chosen.items]
        data = {
            "orders": items,
            "total": chosen.total,
            "limit": chosen.limit,
            "offset": chosen.offset,
            "next_offset": chosen.next_offset,
        }
        return respond(request, data)

    # -- routing, algorithms, executions, market data, tca --------------------------------

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
            "plan": [_json(allocation) for allocation in plan],
            "quotes": {venue: _json(quote) for venue, quote in sorted(quotes.items())},
            "reason": None,
        }
        return respond(request, data)

    @read.get("/algorithms", response_model=Envelope[dict[str, Any]])
    def algorithms(request: Request) -> JSONResponse:
        """The execution algorithms and their parameters (type, required, default)."""
        entries = [spec.describe() for spec in CATALOG.values()]
        return respond(request, {"algorithms": entries, "default": DIRECT})

    @read.get("/transactions/{slice_id}", response_model=Envelope[dict[str, Any]])
    def transactions(request: Request, slice_id: _Id) -> JSONResponse:
        """A slice's execution reports at its venue, oldest first."""
        with services.lock:
            reports = services.view.reports_of_slice(slice_id)
            items = [_json(report) for report in reports]
        if not items:
            raise _not_found("slice", slice_id)
        first = reports[0]
        data = {
            "slice_id": slice_id,
            "order_id": first.order_id,
            "venue": first.venue,
            "filled_quantity": format_decimal(sum((r.last_quantity for r in reports), Decimal(0))),
            "executions": items,
        }
        return respond(request, data)

    @read.get("/market-data/{symbol:path}", response_model=Envelope[dict[str, Any]])
    def market_data(
        request: Request,
        symbol: Annotated[str, Path(min_length=1, max_length=128)],
        depth: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> JSONResponse:
        """The current book of a symbol at each venue (e.g. BTC/USDT): the latest quote and
        `depth` levels a side; and its last trade with the volume, high and low of the 24
        hours up to the latest market data (from `market.trades`, by the minute)."""
        with services.lock:
            window = services.view.trades.get(symbol)
            trades = window.stats(services.view.market_time(symbol)) if window else None
            books = services.view.books.get(symbol, {})
            quotes = services.view.quotes.get(symbol, {})
            venues = {
                venue: {
                    "quote": _json(quotes[venue]) if venue in quotes else None,
                    "bids": _levels(book, Side.BUY, depth),
                    "asks": _levels(book, Side.SELL, depth),
                    "updated_at": services.view.book_times.get((symbol, venue)),
                }
                for venue, book in sorted(books.items())
            }
        if not venues and trades is None:
            raise _not_found("market data for symbol", symbol)
        return respond(request, {"symbol": symbol, "venues": venues, "trades": trades})

    @read.get("/tca/{order_id}", response_model=Envelope[dict[str, Any]])
    def tca(request: Request, order_id: _Id) -> JSONResponse:
        """An order's transaction cost analysis, once the TCA processor has measured it."""
        with services.lock:
            result = services.view.tca.get(order_id)
        if result is None:
            raise _not_found("TCA for order", order_id)
        return respond(request, _json(result))

    # -- operations -----------------------------------------------------------------------

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

    def configured_account(account_id: str) -> Any:
        account = services.engine.accounts.accounts.get(account_id)
        if account is None:
            raise _not_found("account", account_id)
        return account

    @read.get("/accounts/{account_id}", response_model=Envelope[dict[str, Any]])
    def account_detail(request: Request, account_id: _Id) -> JSONResponse:
        """An account of the configuration: state, available margin, risk budget left, daily
        PnL and drawdown, open positions and working orders."""
        account = configured_account(account_id)
        with services.lock:
            standing = services.view.accounts.get(account_id)
            orders = list(services.view.orders.values())
        return respond(request, account_status(account, standing, orders))

    @read.get("/accounts/{account_id}/history", response_model=Envelope[dict[str, Any]])
    def account_history(
        request: Request,
        account_id: _Id,
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

    @admin.post(
        "/accounts/{account_id}/{action}",
        status_code=202,
        response_model=Envelope[dict[str, Any]],
    )
    def account(
        request: Request,
        account_id: _Id,
        action: Literal["pause", "resume"],
        body: Annotated[ReasonRequest | None, Body()] = None,
    ) -> JSONResponse:
        """Pause an account (risk refuses its new orders) or resume it."""
        kind = CommandKind.PAUSE if action == "pause" else CommandKind.RESUME
        reason = body.reason if body else None
        return command(
            request, control.account_command(kind, account_id, control.stamp(), ISSUER, reason)
        )

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

    @admin.put("/kill-switch", status_code=202, response_model=Envelope[dict[str, Any]])
    def kill_switch(request: Request, change: KillSwitchRequest) -> JSONResponse:
        """Throw (`on: true`) or release the kill switch of one account, or of all without
        `account_id`: risk refuses new orders and the executors cancel working ones."""
        built = control.kill_switch_command(
            change.on, change.account_id, control.stamp(), ISSUER, change.reason
        )
        return command(request, built)

    add_task_routes(read, trade, services, publish, ISSUER)
    add_optimize_routes(read, admin, services, publish, ISSUER)
    for router in (read, trade, admin):
        app.include_router(router)
    return app


def _latest_series(services: Services) -> list[Any]:
    with services.lock:
        return list(services.view.series.values())
