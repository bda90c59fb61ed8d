"""The HTTP face of the exchange: Binance spot's REST paths, signing, faults and control.

`dialect="nobitex"` serves Nobitex's paths, token and answers instead (`nobitex.py`), over the
same exchange, faults and control endpoints.

A thin shell over `Exchange`: it checks the API key, the HMAC signature and the timestamp of
private requests, answers refusals as Binance's `{"code", "msg"}` JSON, injects the planned
faults, and offers two control endpoints for tests and demos (not Binance's):
- `POST /_emulator/advance` `{"to_us": t}` or `{"by_us": d}`: run the market to a time;
- `POST /_emulator/faults`: plan faults (docs/EMULATOR.md has the fields).
Signing uses the wall clock (the client's `timestamp` is wall time, ms), as does `serverTime`;
everything about the market and orders is market time, the recording's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web

from fillstream.connectors.emulator.errors import BinanceError, insufficient_balance
from fillstream.connectors.emulator.exchange import Exchange
from fillstream.connectors.emulator.faults import DEFAULT_HOLD_S, Failure, Faults
from fillstream.connectors.emulator.nobitex import refused, too_many_requests
from fillstream.connectors.emulator.nobitex import routes as nobitex_routes
from fillstream.connectors.emulator.signing import check_timestamp, signed_payload, verify
from fillstream.connectors.emulator.streams import install_streams

__all__ = ["Dialect", "create_app"]

Dialect = Literal["binance", "nobitex"]

_EXCHANGE = web.AppKey("exchange", Exchange)
_FAULTS = web.AppKey("faults", Faults)
# Set when the server stops, so that a held answer lets go at once.
_CLOSING = web.AppKey("closing", asyncio.Event)
_WALL_CLOCK_MS = web.AppKey("wall_clock_ms", Callable[[], int])
_MARKET_CLOCK = web.AppKey("market_clock", Callable[[], int] | None)
_DIALECT = web.AppKey("dialect", str)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_API = "/api/v3"
_CONTROL = "/_emulator/"
_UNAVAILABLE_PAGE = (
    "<html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><h1>503 Service Temporarily Unavailable</h1></body></html>"
)


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def create_app(
    exchange: Exchange,
    faults: Faults | None = None,
    *,
    dialect: Dialect = "binance",
    clock_ms: Callable[[], int] = _wall_clock_ms,
    market_clock: Callable[[], int] | None = None,
) -> web.Application:
    """The emulator's application speaking `dialect`; `market_clock` (µs), when given, runs
    the market to its time before every request (the wall-clock mode of `serve`)."""
    app = web.Application(middlewares=[_follow_market, _inject_faults, _answer_errors])
    app[_EXCHANGE] = exchange
    app[_FAULTS] = faults or Faults()
    app[_CLOSING] = asyncio.Event()
    app[_WALL_CLOCK_MS] = clock_ms
    app[_MARKET_CLOCK] = market_clock
    app[_DIALECT] = dialect
    app.on_shutdown.append(_release_held)
    app.add_routes(nobitex_routes(exchange) if dialect == "nobitex" else _binance_routes())
    install_streams(app, exchange)
    app.add_routes(
        [
            web.post(f"{_CONTROL}advance", _advance),
            web.post(f"{_CONTROL}faults", _plan_faults),
        ]
    )
    return app


def _binance_routes() -> list[web.RouteDef]:
    return [
        web.get(f"{_API}/ping", _ping),
        web.get(f"{_API}/time", _time),
        web.get(f"{_API}/exchangeInfo", _exchange_info),
        web.get(f"{_API}/depth", _public(Exchange.depth)),
        web.get(f"{_API}/aggTrades", _public(Exchange.agg_trades)),
        web.get(f"{_API}/ticker/24hr", _public(Exchange.ticker)),
        web.get(f"{_API}/account", _private(lambda ex, key, _: ex.account(key))),
        web.post(f"{_API}/order", _private(Exchange.create_order)),
        web.get(f"{_API}/order", _private(Exchange.get_order)),
        web.delete(f"{_API}/order", _private(Exchange.cancel_order)),
        web.get(f"{_API}/openOrders", _private(Exchange.open_orders)),
        web.delete(f"{_API}/openOrders", _private(Exchange.cancel_open_orders)),
        web.get(f"{_API}/myTrades", _private(Exchange.my_trades)),
    ]


# -- middlewares ---------------------------------------------------------------------------


@web.middleware
async def _follow_market(request: web.Request, handler: _Handler) -> web.StreamResponse:
    clock = request.app[_MARKET_CLOCK]
    if clock is not None:
        request.app[_EXCHANGE].advance_to(clock())
    return await handler(request)


@web.middleware
async def _inject_faults(request: web.Request, handler: _Handler) -> web.StreamResponse:
    if request.path.startswith(_CONTROL):
        return await handler(request)
    faults = request.app[_FAULTS]
    if faults.latency_s > 0:
        await asyncio.sleep(faults.latency_s)
    planned = faults.take(request.method, request.path)
    if planned is None:
        return await handler(request)
    match planned.failure:
        case Failure.TIMEOUT:
            await _hold(request.app, planned.hold_s)
            return web.Response(status=504)
        case Failure.TIMEOUT_AFTER:
            response = await handler(request)
            await _hold(request.app, planned.hold_s)
            return response
        case Failure.TOO_MANY_REQUESTS | Failure.BANNED if request.app[_DIALECT] == "nobitex":
            return too_many_requests(int(planned.failure))
        case Failure.TOO_MANY_REQUESTS | Failure.BANNED:
            message = (
                "Too many requests; current limit is exceeded. Please use WebSocket Streams "
                "for live updates to avoid polling the API."
                if planned.failure is Failure.TOO_MANY_REQUESTS
                else "Way too many requests; IP banned. Please use WebSocket Streams for live "
                "updates to avoid bans."
            )
            return web.json_response(
                {"code": -1003, "msg": message},
                status=int(planned.failure),
                headers={"Retry-After": "1"},
            )
        case Failure.UNAVAILABLE:
            return web.Response(status=503, text=_UNAVAILABLE_PAGE, content_type="text/html")
        case Failure.INSUFFICIENT_BALANCE if request.app[_DIALECT] == "nobitex":
            return refused(insufficient_balance())
        case Failure.INSUFFICIENT_BALANCE:
            refusal = insufficient_balance()
            return web.json_response(refusal.body(), status=refusal.status)
        case _:  # 502, 504: what a load balancer sends, no body
            return web.Response(status=int(planned.failure))


@web.middleware
async def _answer_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BinanceError as error:
        return web.json_response(error.body(), status=error.status)
    except web.HTTPException as error:  # an unknown path or method
        if error.status < 400:
            raise
        body = {"code": -1, "msg": f"{error.reason}: {request.method} {request.path}"}
        return web.json_response(body, status=error.status)


async def _hold(app: web.Application, seconds: float) -> None:
    """Keep the answer back for `seconds`, or until the server stops."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[_CLOSING].wait(), seconds)


async def _release_held(app: web.Application) -> None:
    app[_CLOSING].set()


# -- Binance's endpoints -------------------------------------------------------------------


async def _ping(request: web.Request) -> web.Response:
    return web.json_response({})


async def _time(request: web.Request) -> web.Response:
    return web.json_response({"serverTime": request.app[_WALL_CLOCK_MS]()})


async def _exchange_info(request: web.Request) -> web.Response:
    info = request.app[_EXCHANGE].exchange_info()
    return web.json_response({"serverTime": request.app[_WALL_CLOCK_MS](), **info})


def _public(method: Callable[[Exchange, dict[str, str]], Any]) -> _Handler:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response(method(request.app[_EXCHANGE], dict(request.query)))

    return handle


def _private(method: Callable[[Exchange, str, dict[str, str]], Any]) -> _Handler:
    """A signed endpoint: the key, the signature and the timestamp are checked first."""

    async def handle(request: web.Request) -> web.Response:
        exchange = request.app[_EXCHANGE]
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        query = request.rel_url.raw_query_string.encode()
        body = await request.read()
        payload, signature = signed_payload(query, body)
        verify(exchange.secret_of(api_key), payload, signature)
        params = dict(
            parse_qsl(query.decode(errors="replace")) + parse_qsl(body.decode(errors="replace"))
        )
        check_timestamp(params, request.app[_WALL_CLOCK_MS]())
        return web.json_response(method(exchange, api_key, params))

    return handle


# -- control -------------------------------------------------------------------------------


async def _advance(request: web.Request) -> web.Response:
    exchange = request.app[_EXCHANGE]
    body = await _json(request)
    if isinstance(body.get("to_us"), int):
        exchange.advance_to(body["to_us"])
    elif isinstance(body.get("by_us"), int):
        exchange.advance_to(exchange.now + body["by_us"])
    else:
        raise BinanceError(-1102, 'send {"to_us": <µs>} or {"by_us": <µs>}')
    return web.json_response({"now_us": exchange.now, "next_event_us": exchange.next_event_at})


async def _plan_faults(request: web.Request) -> web.Response:
    """Plan faults: `clear`, `latency_ms`, `fail` (a list of failures), `cap_fills`
    `{"quantity", "orders"}` and `lose_orders` (client order ids), all optional."""
    faults, exchange = request.app[_FAULTS], request.app[_EXCHANGE]
    body = await _json(request)
    try:
        if body.get("clear"):
            faults.clear()
        if "latency_ms" in body:
            faults.latency_s = float(body["latency_ms"]) / 1_000
        for failure in body.get("fail", []):
            faults.fail_next(
                failure["failure"],
                int(failure.get("count", 1)),
                method=failure.get("method"),
                path=failure.get("path"),
                hold_s=float(failure.get("hold_s", DEFAULT_HOLD_S)),
            )
        if "cap_fills" in body:
            cap = body["cap_fills"]
            exchange.cap_fills(Decimal(str(cap["quantity"])), int(cap.get("orders", 1)))
        for client_order_id in body.get("lose_orders", []):
            exchange.lose_order(str(client_order_id))
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise BinanceError(-1102, f"bad fault plan: {error!r}") from None
    planned = [
        {"failure": p.failure.value, "count": p.count, "method": p.method, "path": p.path}
        for p in faults.planned
    ]
    return web.json_response({"latency_ms": faults.latency_s * 1_000, "planned": planned})


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BinanceError(-1102, "send a JSON object")
    return body
