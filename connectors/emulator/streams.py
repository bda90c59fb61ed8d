"""Binance's WebSocket market streams on the emulator's replayed market, for live-feed tests.

Binance spot's raw streams, served at `ws://<host>/ws` (and `/ws/<n>`, where ccxt.pro's client
connects): a client sends `{"method": "SUBSCRIBE", "params": [...], "id": n}` and is answered
`{"result": null, "id": n}`; then each subscribed stream pushes its events, unwrapped:

- `<symbol>@depth` (also `@depth@100ms`): `depthUpdate` diffs with update ids `U`..`u`, which
  continue the REST snapshot's `lastUpdateId` (`/api/v3/depth`) as Binance's do;
- `<symbol>@trade`: each recorded print, with the same ids as `/api/v3/aggTrades`;
- `<symbol>@bookTicker`: the touch, each time it changes.

The streams are what changed in the replayed market since the last push: pushes happen every
`interval_s` (Binance's `@depth@100ms` pace) and before every depth snapshot is served, so a
snapshot always falls on a push boundary; a diff holds the levels whose size changed since the
last push (0: gone). Without that, a level that changed and changed back between two pushes
would be in a snapshot taken in between and in no diff after it.

Two faults, planned with `POST /_emulator/streams` (not Binance's): `{"drop": true}` closes
every connection (a dropped connection), `{"skip_update_ids": n}` makes the next depth diff of
every symbol start `n` ids late (a sequence gap).

`SymbolStreams` is the pure part (market state in, messages out); `StreamHub` the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from fillstream.connectors.emulator.errors import BinanceError
from fillstream.connectors.emulator.exchange import Exchange
from fillstream.connectors.emulator.market import PublicTrade, SymbolMarket
from fillstream.connectors.emulator.orders import ms
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import Side

__all__ = ["DEPTH", "TOUCH", "TRADE", "StreamHub", "SymbolStreams", "install_streams"]

DEPTH, TRADE, TOUCH = "depth", "trade", "bookTicker"
DEFAULT_INTERVAL_S = 0.1
_HUB = web.AppKey("stream_hub", "StreamHub")
_SNAPSHOT_PATH = "/api/v3/depth"

Levels = dict[Decimal, Decimal]


def _levels(market: SymbolMarket, side: Side) -> Levels:
    return dict(market.book.levels(side))


def _changed(before: Levels, after: Levels) -> list[list[str]]:
    """The levels whose size differs, as Binance's `[price, size]` pairs (size 0: removed)."""
    prices = {price for price in before if price not in after} | {
        price for price, size in after.items() if before.get(price) != size
    }
    return [
        [format_decimal(price), format_decimal(after.get(price, Decimal(0)))]
        for price in sorted(prices)
    ]


@dataclass
class SymbolStreams:
    """What one symbol's streams have told their subscribers, and what to push next."""

    symbol: str  # Binance's name, `BTCUSDT`
    update_id: int  # the last depth update id pushed
    trade_id: int  # the last trade id pushed
    bids: Levels
    asks: Levels
    touch: tuple[str, str, str, str] | None
    skip: int = 0  # depth ids to leave out before the next diff (a planned gap)

    @classmethod
    def start(cls, symbol: str, market: SymbolMarket) -> SymbolStreams:
        """Streams that begin with the market as it stands (nothing of the past is pushed)."""
        return cls(
            symbol,
            market.updates,
            market.trades[-1].id if market.trades else 0,
            _levels(market, Side.BUY),
            _levels(market, Side.SELL),
            _touch(market),
        )

    def changes(self, market: SymbolMarket) -> list[tuple[str, dict[str, Any]]]:
        """The events since the last push, as (stream kind, message): trades, then the depth
        diff, then the touch."""
        now_ms = ms(market.now)
        events: list[tuple[str, dict[str, Any]]] = [
            (TRADE, _trade_event(self.symbol, trade, now_ms))
            for trade in market.trades
            if trade.id > self.trade_id
        ]
        if market.trades:
            self.trade_id = max(self.trade_id, market.trades[-1].id)
        bids, asks = _levels(market, Side.BUY), _levels(market, Side.SELL)
        changed_bids, changed_asks = _changed(self.bids, bids), _changed(self.asks, asks)
        if market.updates > self.update_id and (changed_bids or changed_asks):
            diff = {
                "e": "depthUpdate",
                "E": now_ms,
                "s": self.symbol,
                "U": self.update_id + 1 + self.skip,
                "u": market.updates,
                "b": changed_bids[::-1],  # best (highest) bid first, as Binance sends them
                "a": changed_asks,
            }
            events.append((DEPTH, diff))
            self.update_id, self.bids, self.asks, self.skip = market.updates, bids, asks, 0
        touch = _touch(market)
        if touch is not None and touch != self.touch:
            bid, bid_size, ask, ask_size = touch
            message = {"u": market.updates, "s": self.symbol, "b": bid, "B": bid_size}
            events.append((TOUCH, message | {"a": ask, "A": ask_size}))
        self.touch = touch
        return events


def _trade_event(symbol: str, trade: PublicTrade, now_ms: int) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": now_ms,
        "s": symbol,
        "t": trade.id,
        "p": format_decimal(trade.price),
        "q": format_decimal(trade.quantity),
        "T": ms(trade.timestamp),
        "m": trade.buyer_is_maker,
        "M": True,
    }


def _touch(market: SymbolMarket) -> tuple[str, str, str, str] | None:
    """Best bid, its size, best ask, its size; None while a side is empty (nothing to quote)."""
    bids, asks = market.depth(Side.BUY, 1), market.depth(Side.SELL, 1)
    if not bids or not asks:
        return None
    (bid, bid_size), (ask, ask_size) = bids[0], asks[0]
    return (
        format_decimal(bid),
        format_decimal(bid_size),
        format_decimal(ask),
        format_decimal(ask_size),
    )


def parse_stream(name: str) -> tuple[str, str]:
    """`btcusdt@depth@100ms` → (`BTCUSDT`, `depth`); refuses streams the emulator lacks."""
    symbol, _, kind = name.partition("@")
    kind = kind.removesuffix("@100ms")
    if not symbol or kind not in (DEPTH, TRADE, TOUCH):
        raise BinanceError(-1121, f"Invalid stream: {name!r}")
    return symbol.upper(), kind


@dataclass
class _Connection:
    socket: web.WebSocketResponse
    streams: set[tuple[str, str]] = field(default_factory=set)  # (symbol, kind)


class StreamHub:
    """The served connections and each symbol's streams, pushed from the exchange's market."""

    def __init__(self, exchange: Exchange, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._exchange = exchange
        self._interval_s = interval_s
        self._symbols: dict[str, SymbolStreams] = {}
        self._connections: list[_Connection] = []
        self._lock = asyncio.Lock()  # one push at a time: ids must go out in order

    async def push(self) -> None:
        """Send every subscriber what changed in its symbols' market since the last push."""
        async with self._lock:
            for symbol, streams in self._symbols.items():
                events = streams.changes(self._exchange.market_of(symbol))
                for kind, message in events:
                    payload = json.dumps(message)
                    for connection in list(self._connections):
                        if (symbol, kind) in connection.streams and not connection.socket.closed:
                            with contextlib.suppress(ConnectionError):
                                await connection.socket.send_str(payload)

    async def pump(self, app: web.Application) -> AsyncIterator[None]:
        """The push every interval, for the application's lifetime (a cleanup context)."""

        async def run() -> None:
            while True:
                await self.push()
                await asyncio.sleep(self._interval_s)

        task = asyncio.create_task(run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.drop()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """One client connection: its subscriptions in, its streams out."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        connection = _Connection(socket)
        self._connections.append(connection)
        try:
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    continue
                await socket.send_str(json.dumps(await self._request(connection, frame.data)))
        finally:
            self._connections.remove(connection)
        return socket

    async def _request(self, connection: _Connection, raw: str) -> dict[str, Any]:
        try:
            request = json.loads(raw)
            method, names, request_id = request["method"], request.get("params", []), request["id"]
            streams = [parse_stream(str(name)) for name in names]
        except (ValueError, KeyError, TypeError) as error:
            return {"error": {"code": 2, "msg": f"Invalid request: {error!r}"}, "id": None}
        except BinanceError as error:
            return {"error": error.body(), "id": request.get("id")}
        if method == "SUBSCRIBE":
            async with self._lock:  # a symbol's streams start between two pushes
                for symbol, _ in streams:
                    if symbol not in self._symbols:
                        market = self._exchange.market_of(symbol)
                        self._symbols[symbol] = SymbolStreams.start(symbol, market)
                connection.streams.update(streams)
        elif method == "UNSUBSCRIBE":
            connection.streams.difference_update(streams)
        elif method == "LIST_SUBSCRIPTIONS":
            names = sorted(f"{symbol.lower()}@{kind}" for symbol, kind in connection.streams)
            return {"result": names, "id": request_id}
        else:
            return {"error": {"code": 2, "msg": f"Invalid method: {method!r}"}, "id": request_id}
        return {"result": None, "id": request_id}

    async def drop(self) -> int:
        """Close every connection, as a venue dropping its clients; returns how many."""
        connections = list(self._connections)
        for connection in connections:
            await connection.socket.close(code=1001, message=b"dropped by the emulator")
        return len(connections)

    def skip(self, update_ids: int) -> None:
        """Leave `update_ids` ids out before each symbol's next depth diff (a sequence gap)."""
        for streams in self._symbols.values():
            streams.skip += update_ids

    async def plan(self, request: web.Request) -> web.Response:
        """`POST /_emulator/streams`: `{"drop": true}` and/or `{"skip_update_ids": n}`."""
        try:
            body: Mapping[str, Any] = await request.json()
            skip = int(body.get("skip_update_ids", 0))
        except (ValueError, TypeError, AttributeError) as error:
            raise BinanceError(-1102, f"bad stream fault plan: {error!r}") from None
        if skip:
            self.skip(skip)
        dropped = await self.drop() if body.get("drop") else 0
        return web.json_response({"dropped": dropped, "skipped": skip})


@web.middleware
async def _pushed_before_snapshot(request: web.Request, handler: Any) -> web.StreamResponse:
    """A depth snapshot is served at a push boundary (see the module docstring)."""
    if request.path == _SNAPSHOT_PATH:
        await request.app[_HUB].push()
    return await handler(request)


def install_streams(
    app: web.Application, exchange: Exchange, interval_s: float = DEFAULT_INTERVAL_S
) -> StreamHub:
    """Serve the streams from `app`: the WebSocket paths, the fault endpoint and the pushes."""
    hub = StreamHub(exchange, interval_s)
    app[_HUB] = hub
    app.middlewares.append(_pushed_before_snapshot)
    app.cleanup_ctx.append(hub.pump)
    app.add_routes(
        [
            web.get("/ws", hub.serve),
            web.get("/ws/{stream}", hub.serve),
            web.post("/_emulator/streams", hub.plan),
        ]
    )
    return hub
